"""How recipients are matched to the application's users: case and surrounding whitespace ignored.

A users table can hold millions of rows, so the lookup should use the email column's index. On MySQL and
MariaDB, when the column's collation itself ignores case and trailing spaces (PAD SPACE `*_ci` collations
such as utf8mb4_unicode_ci or utf8mb4_general_ci), the column is compared as it is and every row found is
keyed by the rule in Python. Otherwise (a case-sensitive, binary or NO PAD collation such as MySQL 8's
utf8mb4_0900_ai_ci; SQLite; PostgreSQL), or with USERS_EMAIL_LOOKUP=scan, the column is normalized in SQL:
exact, also for addresses stored with leading whitespace, but a scan of the whole table per batch.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, Optional, Tuple

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from ses_guard import schema
from ses_guard.observability import logger
from ses_guard.parsing import normalize_address
from ses_guard.settings import UsersTable

_COLUMN_COLLATION = text(
    "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table AND COLUMN_NAME = :column"
)
_SQL_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def column_collation(connection: Connection, config: UsersTable) -> Tuple[Optional[str], bool]:
    """The email column's collation on MySQL/MariaDB, and whether it ignores case and trailing spaces.

    Asked of the server rather than guessed from the name: MariaDB's catalog has no pad attribute.
    """
    if connection.dialect.name not in ("mysql", "mariadb"):
        return None, False
    row = connection.execute(_COLUMN_COLLATION, {"table": config.name, "column": config.email_column}).first()
    if row is None or row[1] is None:  # no such column yet, or a binary one
        return None, False
    charset, collation = row
    if not (_SQL_NAME.match(charset) and _SQL_NAME.match(collation)):
        return collation, False
    # Both names come from the server's own catalog and are plain identifiers (checked above).
    probe = f"SELECT CONVERT('Ab ' USING {charset}) COLLATE {collation} = CONVERT('ab' USING {charset})"
    return collation, bool(connection.exec_driver_sql(probe).scalar())


class UserLookup:
    """user_id by normalized address, in one query per batch; the lowest id wins if the application has duplicates."""

    def __init__(self, config: UsersTable) -> None:
        self.config = config
        self.uses_index: Optional[bool] = None  # learned from the first connection, once per container
        users = schema.users_table(config)
        email, user_id = users.c[config.email_column], users.c[config.id_column]
        addresses = bindparam("addresses", expanding=True)
        normalized = func.lower(func.trim(email))
        # Both built once: SQLAlchemy then reuses their compiled forms and only expands the address list.
        self._by_column: Select = select(email, user_id).where(email.in_(addresses))
        self._by_normalized: Select = (
            select(normalized, func.min(user_id)).where(normalized.in_(addresses)).group_by(normalized)
        )

    def find(self, connection: Connection, keys: Iterable[str]) -> Dict[str, int]:
        keys = sorted(set(keys))
        if not keys:
            return {}
        if self.uses_index is None:
            self.uses_index = self._can_use_index(connection)
        if not self.uses_index:
            return dict(connection.execute(self._by_normalized, {"addresses": keys}).all())
        found: Dict[str, int] = {}
        for address, user_id in connection.execute(self._by_column, {"addresses": keys}):
            # Keyed by the rule, not by the collation, which may also equate accents or ß and ss: such rows
            # land under a key no recipient has.
            key = normalize_address(address)
            found[key] = min(user_id, found.get(key, user_id))
        return found

    def _can_use_index(self, connection: Connection) -> bool:
        if self.config.email_lookup == "scan":
            return False
        collation, ignores_case_and_padding = column_collation(connection, self.config)
        if ignores_case_and_padding:
            return True
        if connection.dialect.name in ("mysql", "mariadb"):
            logger.warning(
                "users lookup scans the whole users table: its email column's collation does not ignore case "
                "and trailing spaces",
                extra={
                    "users_table": self.config.name,
                    "email_column": self.config.email_column,
                    "collation": collation,
                    "remedy": "a case-insensitive PAD SPACE collation (e.g. utf8mb4_unicode_ci) lets it use an index",
                },
            )
        return False
