"""Writes recipient events to the log tables: a fixed number of statements per batch, exactly once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from operator import itemgetter
from typing import Callable, Dict, Iterable, List, Sequence, Tuple, TypeVar, Union

from sqlalchemy import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Insert
from sqlalchemy.sql.schema import Table

from ses_guard import database, schema
from ses_guard.observability import logger
from ses_guard.parsing import RecipientEvent
from ses_guard.settings import UsersTable
from ses_guard.users import UserLookup

T = TypeVar("T")
DEADLOCK_ATTEMPTS = 3
# Deadlock victim, lock wait timeout: the transaction can simply run again, every write being idempotent.
_MYSQL_RETRYABLE = (1213, 1205)
# The one warning INSERT IGNORE is used for: the row is already stored.
_MYSQL_DUPLICATE_KEY = 1062
_QUOTED_VALUE = re.compile(r"'[^']*'")


@dataclass(frozen=True)
class StoreResult:
    """Rows this batch added; duplicates of rows already stored add nothing."""

    user_rows: int = 0
    unregistered_rows: int = 0  # in unvalidated_email_log
    new_unregistered_pairs: int = 0


def insert_ignoring_duplicates(table: Table, dialect_name: str) -> Insert:
    """INSERT that silently drops rows whose unique key already exists (and only those, where possible)."""
    # Dialect modules are imported only when used: PostgreSQL's alone adds a tenth to the handler's cold start.
    if dialect_name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect_name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect_name in ("mysql", "mariadb"):
        # IGNORE also downgrades truncation to a warning; the parser already cut every value to fit.
        return insert(table).prefix_with("IGNORE")
    raise ValueError(f"unsupported database dialect {dialect_name!r}")


class EventStore:
    def __init__(self, engine: Engine, users: UsersTable) -> None:
        self.engine = engine
        self.users = UserLookup(users)
        self._inserts: Dict[Tuple[str, Tuple[str, ...]], Union[Insert, str]] = {}

    def save(self, events: Sequence[RecipientEvent]) -> StoreResult:
        """Store a batch in one transaction; a database error propagates and nothing of it is committed.

        The unregistered pairs this transaction inserts are the ones to count. When a commit reaches the
        server but its acknowledgement is lost, the redelivered batch finds its rows stored and counts
        nothing: a missed count, chosen over a double count, which could trip the sending breaker.
        """
        if not events:
            return StoreResult()
        return _retry_on_deadlock(lambda: self._insert_batch(events))

    def _insert_batch(self, events: Sequence[RecipientEvent]) -> StoreResult:
        with self.engine.begin() as connection:
            user_ids = self.users.find(connection, {event.recipient_key for event in events})
            user_rows = [
                dict(_log_row(event), user_id=user_ids[event.recipient_key])
                for event in events
                if event.recipient_key in user_ids
            ]
            unregistered = [event for event in events if event.recipient_key not in user_ids]
            return StoreResult(
                user_rows=self._insert(connection, schema.user_email_log, user_rows),
                unregistered_rows=self._insert(
                    connection, schema.unvalidated_email_log, [_log_row(event) for event in unregistered]
                ),
                new_unregistered_pairs=self._insert(
                    connection, schema.unregistered_recipient, _pair_rows(unregistered)
                ),
            )

    def _insert(self, connection: Connection, table: Table, rows: List[dict]) -> int:
        if not rows:
            return 0
        # Rows in key order: concurrent batches then take their locks in one order, which avoids most deadlocks.
        rows = sorted(rows, key=itemgetter("pair_key" if "pair_key" in rows[0] else "event_key"))
        statement = self._insert_statement(connection, table, tuple(rows[0]))
        if isinstance(statement, str):
            result = connection.exec_driver_sql(statement, rows)
        else:
            result = connection.execute(statement, rows)
        if getattr(result.context.cursor, "warning_count", 0):
            _log_what_was_stored_differently(connection, table)
        return max(result.rowcount, 0)

    def _insert_statement(self, connection: Connection, table: Table, columns: Tuple[str, ...]) -> Union[Insert, str]:
        """The INSERT for these columns: compiled once to SQL text when the driver can take the rows as they are.

        SQLAlchemy otherwise rebuilds every row's parameters, converting none of them on MySQL or PostgreSQL:
        at 100 rows a batch that was about a tenth of the processor's time on MariaDB (`make bench`).
        """
        cache_key = (table.name, columns)
        statement = self._inserts.get(cache_key)
        if statement is None:
            dialect = connection.dialect
            statement = insert_ignoring_duplicates(table, dialect.name)
            converted = [name for name in columns if table.c[name].type.dialect_impl(dialect).bind_processor(dialect)]
            # Named parameters only: the rows are dicts. SQLite converts datetimes, so it keeps the general path.
            if not converted and dialect.paramstyle in ("pyformat", "named"):
                statement = str(statement.compile(dialect=dialect, column_keys=list(columns)))
            self._inserts[cache_key] = statement
        return statement


def _retry_on_deadlock(work: Callable[[], T]) -> T:
    """Run a transaction again when MySQL rolled it back whole (deadlock victim, lock wait timeout), at most
    DEADLOCK_ATTEMPTS times and only while another attempt fits within the invocation's deadline."""
    attempt = 1
    while True:
        try:
            return work()
        except OperationalError as error:
            code = error.orig.args[0] if error.orig is not None and error.orig.args else None
            if code not in _MYSQL_RETRYABLE or attempt >= DEADLOCK_ATTEMPTS or not database.time_for_another_wait():
                raise
            logger.warning("transaction retried", extra={"mysql_error": code, "attempt": attempt})
            attempt += 1


def _log_what_was_stored_differently(connection: Connection, table: Table) -> None:
    """INSERT IGNORE turns every error into a warning, not only the duplicate keys it is meant for: a value
    the column cannot hold (a 4-byte character in a latin1 column becomes '?', a long one is cut) is stored
    changed. Asked only when the server counted warnings; logged without the values themselves."""
    altered = [
        {"level": level, "code": code, "message": _QUOTED_VALUE.sub("'...'", str(message))}
        for level, code, message in connection.exec_driver_sql("SHOW WARNINGS")
        if code != _MYSQL_DUPLICATE_KEY
    ]
    if altered:
        logger.warning("rows stored differently from what arrived", extra={"table": table.name, "warnings": altered})


def _log_row(event: RecipientEvent) -> dict:
    return {column: getattr(event, column) for column in schema.LOG_ROW_COLUMNS}


def _pair_rows(events: Iterable[RecipientEvent]) -> List[dict]:
    first_seen: Dict[str, RecipientEvent] = {}
    for event in sorted(events, key=lambda event: event.timestamp):
        first_seen.setdefault(event.pair_key, event)
    return [
        {
            "pair_key": key,
            "ses_message_id": event.ses_message_id,
            "destination_address": event.destination_address,
            "first_seen": event.timestamp,
        }
        for key, event in first_seen.items()
    ]
