"""THE address-matching rule, and what SQL may use to look for candidates under it.

Two addresses are one mailbox (one user's) when their keys (normalize_address) are equal. SQL never decides
a match: it only fetches candidates, a superset of what the rule matches (candidate_key), and every candidate
is keyed here, in Python. The users lookup (users.py), hygiene, the suppression list and the parser all key
addresses with normalize_address.
"""

from __future__ import annotations

from typing import Any, Optional

from sqlalchemy import func, literal_column
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.schema import Column

# The rule itself, registered on every SQLite connection (database.py): SQLite's LOWER folds ASCII only.
SQLITE_FUNCTION = "ses_guard_match_key"
# Case- and accent-insensitive, PAD SPACE, in MySQL 5.6+ and every MariaDB: equates every case pair the rule
# does (and more), on any column character set.
MYSQL_BROAD_COLLATION = "utf8mb4_unicode_520_ci"


def normalize_address(address: str) -> str:
    """The key of an address: surrounding whitespace ignored, and case, by Unicode simple case folding.

    One character for one: STRAẞE and straße are one address, but straße and strasse are two mailboxes; a
    final sigma is a sigma; İ is kept, as it has no one-character fold.
    """
    address = address.strip()
    if address.isascii():
        return address.lower()
    return "".join(_simple_fold(character) for character in address)


def _simple_fold(character: str) -> str:
    # str.casefold() is the full folding (ß -> ss); where it expands, the one-character lowercase is the
    # simple folding (ẞ -> ß), and a character with neither (İ) folds to itself.
    folded = character.casefold()
    if len(folded) == 1:
        return folded
    lowered = character.lower()
    return lowered if len(lowered) == 1 else character


def sqlite_match_key(address: Optional[str]) -> Optional[str]:
    """normalize_address as SQLite calls it (NULL stays NULL)."""
    return None if address is None else normalize_address(address)


def register_sqlite_function(dbapi_connection: Any) -> None:
    dbapi_connection.create_function(SQLITE_FUNCTION, 1, sqlite_match_key, deterministic=True)


def candidate_key(column: Column, dialect: Dialect) -> ColumnElement:
    """SQL for a stored address that equals, under the comparison it carries, the key of every address the rule
    matches to it: compared with keys, it selects a superset of the rule's matches, never fewer.

    SQLite runs the rule itself; MySQL/MariaDB trim and compare under MYSQL_BROAD_COLLATION (whatever the
    column's own character set and collation); elsewhere LOWER(TRIM()), exact for ASCII.
    """
    if dialect.name in ("mysql", "mariadb"):
        quoted = dialect.identifier_preparer.quote(column.name)
        return literal_column(f"CONVERT(TRIM({quoted}) USING utf8mb4) COLLATE {MYSQL_BROAD_COLLATION}")
    if dialect.name == "sqlite":
        return getattr(func, SQLITE_FUNCTION)(column)
    return func.lower(func.trim(column))
