"""How the users lookup tells the operator it reads the whole users table, and a binary column matched by the
rule (MariaDB; issue 17)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from ses_guard.store import EventStore
from tests.integration.test_user_lookup import ACCOUNTS, add_account, create_accounts, deliver

pytestmark = [pytest.mark.mysql, pytest.mark.parametrize("database_url", ["mysql"], indirect=True)]

WHERE = ("accounts", "mail")


def warnings(caplog, message):
    return [record for record in caplog.records if record.getMessage() == message]


def test_a_case_sensitive_column_is_one_warning_naming_the_table_the_collation_and_the_remedy(engine, caplog):
    create_accounts(engine, "COLLATE utf8mb4_bin")
    add_account(engine, 77, "Boss@Corp.Example")
    store = EventStore(engine, ACCOUNTS)

    with caplog.at_level(logging.WARNING):
        deliver(store, "boss@corp.example")

    [line] = warnings(
        caplog,
        "users lookup scans the whole users table: its email column's collation does not ignore case and "
        "trailing spaces",
    )
    assert (line.levelno, line.users_table, line.email_column, line.collation) == (
        logging.WARNING,
        *WHERE,
        "utf8mb4_bin",
    )
    assert line.remedy == "a case-insensitive PAD SPACE collation (e.g. utf8mb4_unicode_ci) lets it use an index"


def test_scan_by_choice_is_no_warning(engine, caplog):
    create_accounts(engine, "COLLATE utf8mb4_bin")
    add_account(engine, 77, "Boss@Corp.Example")
    store = EventStore(engine, replace(ACCOUNTS, email_lookup="scan"))

    with caplog.at_level(logging.WARNING):
        assert deliver(store, "boss@corp.example") == {"boss@corp.example": 77}

    assert store.users.uses_index is False
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_a_missing_users_table_is_one_warning_naming_it(engine, caplog):
    store = EventStore(engine, ACCOUNTS)

    with caplog.at_level(logging.WARNING), pytest.raises(Exception, match="accounts"):
        deliver(store, "boss@corp.example")

    [line] = warnings(caplog, "users lookup scans: the email column is not in information_schema")
    assert (line.levelno, line.users_table, line.email_column) == (logging.WARNING, *WHERE)
    assert store.users.uses_index is None  # asked again with the next batch


@pytest.mark.parametrize("email_lookup", ["auto", "scan"])
def test_a_binary_column_whose_collation_is_unknown_is_matched_by_the_rule(engine, email_lookup):
    """A binary column has no collation: nothing says it ignores case, so its bytes are never compared as they
    are with a recipient's key."""
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, mail VARBINARY(320) NOT NULL, ok INTEGER, INDEX (mail))"
        )
    add_account(engine, 77, "Boss@Corp.Example")
    add_account(engine, 78, "  Ève@Corp.Example")
    store = EventStore(engine, replace(ACCOUNTS, email_lookup=email_lookup))

    assert deliver(store, "boss@corp.example", "ève@corp.example", "stranger@corp.example") == {
        "boss@corp.example": 77,
        "ève@corp.example": 78,
        "stranger@corp.example": None,
    }
    assert store.users.uses_index is False
    assert store.users.column.ignores_case_and_trailing_spaces is False


def test_a_binary_column_holding_bytes_that_are_not_utf8_fails_no_batch(engine):
    """An application that wrote latin1 bytes into a binary column: such an address matches no recipient, and
    the users next to it are still found."""
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE accounts (id INTEGER PRIMARY KEY, mail VARBINARY(320), ok INTEGER)")
        connection.exec_driver_sql(
            "INSERT INTO accounts VALUES (77, %(latin1)s, 1), (78, %(utf8)s, 1)",
            {"latin1": "Jörg@Corp.Example".encode("latin1"), "utf8": "Ève@Corp.Example".encode()},
        )
    store = EventStore(engine, ACCOUNTS)

    # MariaDB shows the byte that is not UTF-8 as "?", so the broad search fetches the row for this recipient.
    assert deliver(store, "j?rg@corp.example", "ève@corp.example") == {
        "j?rg@corp.example": None,
        "ève@corp.example": 78,
    }
