"""How recipients are matched to the application's users: by the one rule, addresses.normalize_address.

SQL only ever fetches candidates, a superset of the users the rule matches; every candidate is keyed by the
rule in Python, so SQL's own notion of case (LOWER, a collation) can widen the search but never decide a match.

A users table can hold millions of rows, so the lookup uses the email column's index where it can: on MySQL
and MariaDB, when the column's collation itself ignores case and trailing spaces (PAD SPACE `*_ci` collations
such as utf8mb4_unicode_ci or utf8mb4_general_ci), the column is compared as it is, together with the few
addresses stored with a leading space. A recipient the column's character set cannot hold (MySQL would refuse
the comparison, "Illegal mix of collations", failing the whole batch), and a non-ASCII one the index did not
find (a collation may not know a capital, such as ẞ under utf8mb4_unicode_ci), is then looked for by the
broad search: addresses.candidate_key, the column converted to utf8mb4 and compared under
utf8mb4_unicode_520_ci, which equates every case pair the rule does (and more: accents) and never fails on a
character set, but reads the whole table.
Every other collation (case-sensitive, binary, NO PAD such as MySQL 8's utf8mb4_0900_ai_ci), and
USERS_EMAIL_LOOKUP=scan, uses the broad search for every recipient. SQLite runs the rule itself, registered on
each connection (its LOWER folds ASCII only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Set

from sqlalchemy import bindparam, or_, select, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Select

from ses_guard import schema
from ses_guard.addresses import candidate_key, normalize_address
from ses_guard.observability import logger
from ses_guard.settings import UsersTable

_COLUMN_COLLATION = text(
    "SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS"
    " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table AND COLUMN_NAME = :column"
)
_SQL_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# Every printable ASCII character: the index path needs the column to hold them all (swe7, for one, does not).
_PRINTABLE_ASCII = "".join(chr(code) for code in range(0x20, 0x7F))

# Character sets whose repertoire is known exactly without asking the server: all of Unicode, or its BMP.
_FULL_UNICODE = {"utf8mb4", "utf16", "utf16le", "utf32"}
_BMP_ONLY = {"utf8", "utf8mb3", "ucs2"}


@dataclass(frozen=True)
class ColumnCollation:
    charset: Optional[str]  # None for a binary column, like the name
    name: Optional[str]
    ignores_case_and_trailing_spaces: bool

    def can_compare(self, key: str) -> bool:
        """Whether the key can be compared with the column as it is: every key, some, or ASCII only (the
        character sets of a single language; anything else goes to the broad search, which never fails)."""
        if self.charset in _FULL_UNICODE:
            return True
        if self.charset in _BMP_ONLY:
            return all(ord(character) <= 0xFFFF for character in key)
        return key.isascii()


def _ascii_prefix(key: str) -> str:
    """The key's leading ASCII characters, up to its first other one."""
    for position, character in enumerate(key):
        if not character.isascii():
            return key[:position]
    return key


def column_collation(connection: Connection, config: UsersTable) -> Optional[ColumnCollation]:
    """The email column's collation on MySQL/MariaDB and whether the index path can use it; None when the
    server shows no such column (yet).

    Asked of the server rather than guessed from the name: MariaDB's catalog has no pad attribute, and a
    character set may lack part of ASCII.
    """
    row = connection.execute(_COLUMN_COLLATION, {"table": config.name, "column": config.email_column}).first()
    if row is None:
        return None
    charset, collation = row
    if collation is None or not (_SQL_NAME.match(charset) and _SQL_NAME.match(collation)):
        return ColumnCollation(charset, collation, False)
    # Both names come from the server's own catalog and are plain identifiers (checked above).
    probe = (
        f"SELECT CONVERT('Ab ' USING {charset}) COLLATE {collation} = CONVERT('ab' USING {charset}),"
        f" CAST(CONVERT(CONVERT(%(ascii)s USING {charset}) USING utf8mb4) AS BINARY) = CAST(%(ascii)s AS BINARY)"
    )
    ignores_case, holds_ascii = connection.exec_driver_sql(probe, {"ascii": _PRINTABLE_ASCII}).one()
    return ColumnCollation(charset, collation, bool(ignores_case) and bool(holds_ascii))


class UserLookup:
    """user_id by normalized address, in one query per batch (two when non-ASCII recipients go unfound by the
    index); the lowest id wins if the application has duplicates."""

    def __init__(self, config: UsersTable) -> None:
        self.config = config
        # Learned from the first connection, once per container.
        self.uses_index: Optional[bool] = None
        self.column: Optional[ColumnCollation] = None
        self._users = schema.users_table(config)
        self._email = self._users.c[config.email_column]
        self._user_id = self._users.c[config.id_column]
        # Addresses stored with a leading space are fetched too (the same index, one more range; there are few).
        self._by_column: Select = select(self._email, self._user_id).where(
            or_(self._email.in_(bindparam("addresses", expanding=True)), self._email.like(" %"))
        )
        self._broad: Dict[str, Select] = {}

    def find(self, connection: Connection, keys: Iterable[str]) -> Dict[str, int]:
        wanted = set(keys)
        if not wanted:
            return {}
        uses_index = self.uses_index
        if uses_index is None:
            uses_index = self.uses_index = self._can_use_index(connection)
        found: Dict[str, int] = {}
        if uses_index and self.column is not None:
            comparable = sorted(key for key in wanted if self.column.can_compare(key))
            if comparable:
                self._collect(connection.execute(self._by_column, {"addresses": comparable}), wanted, found)
            # The index is the whole answer for ASCII keys (the probe checked the column holds ASCII).
            rest = sorted(key for key in wanted - set(found) if not key.isascii())
        else:
            rest = sorted(wanted)
        if rest:
            search = self._broad_search(connection.dialect)
            prefixes = sorted({_ascii_prefix(key) for key in rest})
            if uses_index and all(prefixes):
                # The column ignores ASCII case, so its index can narrow the search to the keys' leading
                # ASCII characters: a stored address the rule matches starts with them, in any case (or with a
                # space: the index query above fetched all of those).
                starts = [self._email.startswith(prefix, autoescape=True) for prefix in prefixes]
                search = search.where(or_(*starts))
            self._collect(connection.execute(search, {"addresses": rest}), wanted, found)
        return found

    @staticmethod
    def _collect(rows: Iterable, wanted: Set[str], found: Dict[str, int]) -> None:
        for address, user_id in rows:
            if isinstance(address, bytes):  # a binary column: the application's bytes, taken as UTF-8
                address = address.decode("utf-8", "replace")
            key = normalize_address(address)
            if key in wanted:
                found[key] = min(user_id, found.get(key, user_id))

    def _broad_search(self, dialect: Dialect) -> Select:
        """Every user whose address may match one of the keys, on any column character set and collation."""
        search = self._broad.get(dialect.name)
        if search is None:
            candidate = candidate_key(self._email, dialect)
            search = select(self._email, self._user_id).select_from(self._users)
            search = self._broad[dialect.name] = search.where(candidate.in_(bindparam("addresses", expanding=True)))
        return search

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
