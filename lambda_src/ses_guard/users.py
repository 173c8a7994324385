"""How recipients are matched to the application's users: case and surrounding whitespace ignored.

A users table can hold millions of rows, so the lookup should use the email column's index. On MySQL and
MariaDB, when the column's collation itself ignores case and trailing spaces (PAD SPACE `*_ci` collations
such as utf8mb4_unicode_ci or utf8mb4_general_ci), the column is compared as it is, together with the few
addresses stored with a leading space, and every row found is keyed by the rule in Python. Otherwise
(a case-sensitive, binary or NO PAD collation such as MySQL 8's utf8mb4_0900_ai_ci; SQLite; PostgreSQL), or
with USERS_EMAIL_LOOKUP=scan, the column is normalized in SQL: exact too, but a scan of the whole table per batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, Optional

from sqlalchemy import bindparam, func, or_, select, text
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


# What each MySQL character set can hold, as a Python codec (None: code points up to U+FFFF).
_CHARSET_CODECS = {"latin1": "cp1252", "ascii": "ascii", "utf8": None, "utf8mb3": None, "ucs2": None}


@dataclass(frozen=True)
class ColumnCollation:
    charset: Optional[str]  # None for a binary column, like the name
    name: Optional[str]
    ignores_case_and_trailing_spaces: bool

    def can_hold(self, address: str) -> bool:
        """False for an address the column cannot store (so no user has it), which MySQL would also refuse to
        compare with the column ("Illegal mix of collations"), failing the whole batch."""
        if self.charset not in _CHARSET_CODECS:
            return True
        codec = _CHARSET_CODECS[self.charset]
        if codec is None:
            return all(ord(character) <= 0xFFFF for character in address)
        try:
            address.encode(codec)
        except UnicodeEncodeError:
            return False
        return True


def column_collation(connection: Connection, config: UsersTable) -> Optional[ColumnCollation]:
    """The email column's collation on MySQL/MariaDB and whether it ignores case and trailing spaces;
    None when the server shows no such column (yet).

    Asked of the server rather than guessed from the name: MariaDB's catalog has no pad attribute.
    """
    row = connection.execute(_COLUMN_COLLATION, {"table": config.name, "column": config.email_column}).first()
    if row is None:
        return None
    charset, collation = row
    if collation is None or not (_SQL_NAME.match(charset) and _SQL_NAME.match(collation)):
        return ColumnCollation(charset, collation, False)
    # Both names come from the server's own catalog and are plain identifiers (checked above).
    probe = f"SELECT CONVERT('Ab ' USING {charset}) COLLATE {collation} = CONVERT('ab' USING {charset})"
    return ColumnCollation(charset, collation, bool(connection.exec_driver_sql(probe).scalar()))


class UserLookup:
    """user_id by normalized address, in one query per batch; the lowest id wins if the application has duplicates."""

    def __init__(self, config: UsersTable) -> None:
        self.config = config
        # Learned from the first connection, once per container.
        self.uses_index: Optional[bool] = None
        self.column: Optional[ColumnCollation] = None
        users = schema.users_table(config)
        email, user_id = users.c[config.email_column], users.c[config.id_column]
        addresses = bindparam("addresses", expanding=True)
        normalized = func.lower(func.trim(email))
        # Both built once: SQLAlchemy then reuses their compiled forms and only expands the address list.
        # Addresses stored with a leading space are fetched too (the same index, one more range; there are
        # few): the rule, applied in Python, then matches them as the normalizing query would.
        self._by_column: Select = select(email, user_id).where(or_(email.in_(addresses), email.like(" %")))
        self._by_normalized: Select = (
            select(normalized, func.min(user_id)).where(normalized.in_(addresses)).group_by(normalized)
        )

    def find(self, connection: Connection, keys: Iterable[str]) -> Dict[str, int]:
        uses_index = self.uses_index
        if uses_index is None:
            uses_index = self.uses_index = self._can_use_index(connection)
        keys = sorted({key for key in keys if self.column is None or self.column.can_hold(key)})
        if not keys:
            return {}
        if not uses_index:
            return dict(connection.execute(self._by_normalized, {"addresses": keys}).all())
        found: Dict[str, int] = {}
        for address, user_id in connection.execute(self._by_column, {"addresses": keys}):
            # Keyed by the rule, not by the collation, which may also equate accents or ß and ss: such rows
            # land under a key no recipient has.
            key = normalize_address(address)
            found[key] = min(user_id, found.get(key, user_id))
        return found

    def _can_use_index(self, connection: Connection) -> Optional[bool]:
        """Whether the column's own comparison can be used; None (asked again next batch) if it is not found."""
        if connection.dialect.name not in ("mysql", "mariadb"):
            return False
        collation = self.column = column_collation(connection, self.config)
        where = {"users_table": self.config.name, "email_column": self.config.email_column}
        if collation is None:
            logger.warning("users lookup scans: the email column is not in information_schema", extra=where)
            return None
        if self.config.email_lookup == "scan":
            return False
        if not collation.ignores_case_and_trailing_spaces:
            logger.warning(
                "users lookup scans the whole users table: its email column's collation does not ignore case "
                "and trailing spaces",
                extra={
                    **where,
                    "collation": collation.name,
                    "remedy": "a case-insensitive PAD SPACE collation (e.g. utf8mb4_unicode_ci) lets it use an index",
                },
            )
        return collation.ignores_case_and_trailing_spaces
