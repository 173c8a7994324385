"""The store's statements per database and its retries, as the log shows them (issue 17)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import OperationalError

from ses_guard import schema
from ses_guard.store import _retry_on_deadlock, insert_ignoring_duplicates

DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect(), "mysql": mysql.dialect()}


@pytest.mark.parametrize(
    ("dialect", "start", "end"),
    [
        ("sqlite", "INSERT INTO unregistered_recipient ", " ON CONFLICT DO NOTHING"),
        ("postgresql", "INSERT INTO unregistered_recipient ", " ON CONFLICT DO NOTHING"),
        ("mysql", "INSERT IGNORE INTO unregistered_recipient ", ")"),
        ("mariadb", "INSERT IGNORE INTO unregistered_recipient ", ")"),
    ],
)
def test_a_row_already_stored_is_dropped_by_each_databases_own_statement(dialect, start, end):
    statement = insert_ignoring_duplicates(schema.unregistered_recipient, dialect)

    sql = str(statement.compile(dialect=DIALECTS.get(dialect, DIALECTS["mysql"]))).replace("\n", "")

    assert sql.startswith(start) and sql.endswith(end)


def test_a_database_the_store_cannot_write_is_named():
    with pytest.raises(ValueError) as raised:
        insert_ignoring_duplicates(schema.unregistered_recipient, "oracle")
    assert str(raised.value) == "unsupported database dialect 'oracle'"


def test_each_retry_is_a_log_line_with_the_mysql_error_and_the_attempt(caplog):
    calls = []

    def deadlocked_twice():
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("INSERT ...", {}, Exception(1213 if len(calls) == 1 else 1205, "Deadlock found"))
        return "stored"

    with caplog.at_level(logging.WARNING):
        assert _retry_on_deadlock(deadlocked_twice) == "stored"

    retries = [record for record in caplog.records if record.getMessage() == "transaction retried"]
    assert [(record.levelno, record.mysql_error, record.attempt) for record in retries] == [
        (logging.WARNING, 1213, 1),
        (logging.WARNING, 1205, 2),
    ]
