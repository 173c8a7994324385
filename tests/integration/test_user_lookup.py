"""Matching recipients to the application's users: exact by the rule, and by the column's index where it can be."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from ses_guard import database, processor, schema
from ses_guard.addresses import MYSQL_BROAD_COLLATION
from ses_guard.parsing import InboundRecord, normalize_address
from ses_guard.provenance import Source
from ses_guard.settings import UsersTable
from ses_guard.store import EventStore
from tests import ses_samples as ses
from tests.conftest import both_databases

ACCOUNTS = UsersTable(name="accounts", id_column="id", email_column="mail", validated_column="ok")
UNREGISTERED_PER_BATCH = 50


def create_accounts(engine, collation: str = "", count: int = 0) -> None:
    """The application's table, with an index on the address (and `count` filler users to make it matter)."""
    column = f"VARCHAR(320) {collation}".strip()
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE accounts (id INTEGER PRIMARY KEY, mail {column} NOT NULL, ok INTEGER)"))
        connection.execute(text("CREATE INDEX ix_accounts_mail ON accounts (mail)"))
        if count:
            connection.execute(
                text("INSERT INTO accounts VALUES (:id, :mail, 1)"),
                [{"id": 1000 + n, "mail": f"filler{n}@Corp.Example"} for n in range(count)],
            )


def add_account(engine, user_id: int, address: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO accounts VALUES (:id, :mail, 1)"), {"id": user_id, "mail": address})


def deliver(store, *recipients: str) -> dict:
    """user_id by recipient as logged after one Delivery to these recipients (None: logged as unregistered)."""
    processor.process([InboundRecord("1", ses.notification("Delivery", list(recipients)))], store, Source())
    with store.engine.connect() as connection:
        users = dict(
            connection.execute(
                select(schema.user_email_log.c.destination_address, schema.user_email_log.c.user_id)
            ).all()
        )
        unregistered = connection.execute(select(schema.unvalidated_email_log.c.destination_address)).scalars().all()
    assert set(users) | set(unregistered) >= set(recipients)
    return {address: users.get(address) for address in recipients}


@both_databases
def test_case_and_surrounding_whitespace_of_the_recipient_are_ignored(engine):
    create_accounts(engine)
    add_account(engine, 77, "Boss@Corp.Example")
    store = EventStore(engine, ACCOUNTS)

    assert deliver(store, "  BOSS@corp.example ", "boss@corp.example.evil") == {
        "  BOSS@corp.example ": 77,
        "boss@corp.example.evil": None,
    }


@both_databases
@pytest.mark.parametrize("email_lookup", ["auto", "scan"])
def test_when_the_application_has_an_address_twice_the_lowest_id_wins(engine, email_lookup):
    create_accounts(engine)
    add_account(engine, 80, "Boss@Corp.Example")
    add_account(engine, 77, "boss@corp.example")
    add_account(engine, 79, "BOSS@CORP.EXAMPLE")
    store = EventStore(engine, replace(ACCOUNTS, email_lookup=email_lookup))

    assert deliver(store, "Boss@corp.example") == {"Boss@corp.example": 77}


@both_databases
@pytest.mark.parametrize("email_lookup", ["auto", "scan"])
def test_addresses_stored_with_surrounding_spaces_are_found(engine, email_lookup):
    create_accounts(engine)
    add_account(engine, 77, "  Boss@Corp.Example ")
    add_account(engine, 78, " other@corp.example")
    store = EventStore(engine, replace(ACCOUNTS, email_lookup=email_lookup))

    assert deliver(store, "boss@corp.example", "stranger@corp.example") == {
        "boss@corp.example": 77,
        "stranger@corp.example": None,
    }
    assert store.users.uses_index is (email_lookup == "auto" and engine.dialect.name == "mysql")


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_case_insensitive_column_is_searched_through_its_index(engine):
    create_accounts(engine, "COLLATE utf8mb4_unicode_ci", count=2000)
    add_account(engine, 77, "Boss@Corp.Example")
    store = EventStore(engine, ACCOUNTS)
    lookups = []

    def record_lookup(conn, cursor, statement, parameters, *rest):
        if "FROM accounts" in statement:
            lookups.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", record_lookup)

    unregistered = [f"stranger{n}@elsewhere.test" for n in range(UNREGISTERED_PER_BATCH)]
    assert deliver(store, "boss@CORP.example", *unregistered)["boss@CORP.example"] == 77
    assert store.users.uses_index is True

    statement, parameters = lookups[-1]
    with engine.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).mappings().one()
    # Index ranges over the requested addresses (and the leading-space ones), not a scan of the 2,001 rows.
    assert plan["key"] == "ix_accounts_mail"
    assert plan["type"] == "range"
    assert int(plan["rows"]) <= UNREGISTERED_PER_BATCH + 2


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_non_ascii_user_on_a_unicode_column_is_found_through_the_index_alone(engine):
    """A utf8mb4 column holds every recipient: a user with an accented address costs no broad search."""
    create_accounts(engine, "COLLATE utf8mb4_unicode_ci", count=20)
    add_account(engine, 77, "Jörg@Corp.Example")
    store = EventStore(engine, ACCOUNTS)
    lookups = []
    sa_event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *rest: lookups.append(statement))

    assert deliver(store, "jörg@corp.example") == {"jörg@corp.example": 77}
    [lookup] = [statement for statement in lookups if "FROM accounts" in statement]
    assert MYSQL_BROAD_COLLATION not in lookup  # the column compared as it is, through its index


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_an_accent_insensitive_collation_does_not_merge_distinct_addresses(engine):
    create_accounts(engine, "COLLATE utf8mb4_unicode_ci")
    add_account(engine, 1, "jose@corp.example")
    add_account(engine, 2, "strasse@corp.example")
    store = EventStore(engine, ACCOUNTS)

    # Equal under utf8mb4_unicode_ci, distinct mailboxes by the matching rule.
    assert deliver(store, "josé@corp.example", "straße@corp.example", "JOSE@corp.example") == {
        "josé@corp.example": None,
        "straße@corp.example": None,
        "JOSE@corp.example": 1,
    }


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_case_sensitive_column_is_normalized_in_sql_and_the_scan_is_reported(engine, caplog):
    create_accounts(engine, "COLLATE utf8mb4_bin")
    add_account(engine, 77, "Boss@Corp.Example")
    store = EventStore(engine, ACCOUNTS)

    with caplog.at_level(logging.WARNING):
        assert deliver(store, "boss@corp.example") == {"boss@corp.example": 77}
    assert store.users.uses_index is False
    assert "users lookup scans the whole users table" in caplog.text


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_no_pad_collation_is_normalized_in_sql_so_trailing_spaces_still_match(engine, caplog):
    create_accounts(engine, "COLLATE utf8mb4_general_nopad_ci")  # like MySQL 8's default utf8mb4_0900_ai_ci
    add_account(engine, 77, "Boss@Corp.Example  ")
    store = EventStore(engine, ACCOUNTS)

    with caplog.at_level(logging.WARNING):
        assert deliver(store, "boss@corp.example") == {"boss@corp.example": 77}
    assert store.users.uses_index is False
    assert [record.collation for record in caplog.records if record.levelname == "WARNING"] == [
        "utf8mb4_general_nopad_ci"
    ]


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
@pytest.mark.parametrize("email_lookup", ["auto", "scan"])
@pytest.mark.parametrize("charset", ["latin1", "utf8mb3"])
def test_a_recipient_the_users_column_cannot_hold_is_unregistered_not_a_failed_batch(engine, charset, email_lookup):
    # MySQL refuses to compare such a recipient with the column ("Illegal mix of collations"): one odd
    # address would fail its whole batch again and again, and the rest of the batch would go unrecorded.
    create_accounts(engine, f"CHARACTER SET {charset}")
    add_account(engine, 77, "Jöhn@Corp.Example")
    store = EventStore(engine, replace(ACCOUNTS, email_lookup=email_lookup))

    # Ω is in utf8mb3 but not in latin1; U+10000, the first character beyond the BMP, and 😀 are in neither.
    recipients = [
        "jöhn@corp.example",
        "\u03a9@corp.example",
        "\U00010000@corp.example",
        "\U0001f600@corp.example",
        "\u03a9\U0001f600@corp.example",
    ]
    assert deliver(store, *recipients) == {"jöhn@corp.example": 77, **dict.fromkeys(recipients[1:])}


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_users_table_created_after_the_first_batch_is_then_searched_through_its_index(engine, caplog):
    store = EventStore(engine, ACCOUNTS)
    with caplog.at_level(logging.WARNING), pytest.raises(Exception, match="accounts"):
        deliver(store, "boss@corp.example")  # no such table yet: the batch fails and is redelivered
    assert "the email column is not in information_schema" in caplog.text

    create_accounts(engine, "COLLATE utf8mb4_unicode_ci")
    add_account(engine, 77, "Boss@Corp.Example")
    assert deliver(store, "boss@corp.example") == {"boss@corp.example": 77}
    assert store.users.uses_index is True


@both_databases
def test_the_collation_is_read_once_per_container_and_batches_stay_at_four_statements(engine):
    create_accounts(engine)
    add_account(engine, 77, "boss@corp.example")
    store = EventStore(engine, ACCOUNTS)
    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    per_batch, collation_reads = [], []
    for batch in range(3):
        statements.clear()
        message = ses.notification("Delivery", ["boss@corp.example", f"stranger{batch}@elsewhere.test"])
        stored = processor.process([InboundRecord(str(batch), message)], store, Source()).stored
        assert (stored.user_rows, stored.unregistered_rows, stored.new_unregistered_pairs) == (1, 1, 1)
        collation_reads.append(len([s for s in statements if "information_schema" in s or "CONVERT('Ab '" in s]))
        per_batch.append(len(statements) - collation_reads[-1])

    assert per_batch == [4, 4, 4]  # users lookup, one insert per table
    # The catalog read and the probe of what the collation ignores.
    assert collation_reads == ([2, 0, 0] if engine.dialect.name == "mysql" else [0, 0, 0])


# A user is found whatever capitals the stored address has: (column definition, stored, recipient).
NON_ASCII_CAPITALS = {
    "sharp-s-unicode_ci": ("COLLATE utf8mb4_unicode_ci", "STRAẞE@example.de", "STRAẞE@example.de"),
    "sharp-s-lowercase": ("COLLATE utf8mb4_unicode_ci", "STRAẞE@example.de", "straße@example.de"),
    "sharp-s-leading-spaces": ("COLLATE utf8mb4_unicode_ci", "  STRAẞE@example.de ", "straße@example.de"),
    "dotted-i-general_ci": ("COLLATE utf8mb4_general_ci", "İLKNUR@example.tr", "İLKNUR@example.tr"),
    "dotted-i-mixed": ("COLLATE utf8mb4_general_ci", "İLKNUR@example.tr", "İlknur@example.tr"),
    "final-sigma-bin": ("COLLATE utf8mb4_bin", "ΟΔΟΣ@example.gr", "ΟΔΟΣ@example.gr"),
    "final-sigma-lowercase-bin": ("COLLATE utf8mb4_bin", "ΟΔΟΣ@example.gr", "οδος@example.gr"),
    "umlaut-nopad": ("COLLATE utf8mb4_general_nopad_ci", "JÖRG@example.de", "jörg@example.de"),
    "cyrillic-cp1251": ("CHARACTER SET cp1251", "ЖЕНЯ@example.ru", "женя@example.ru"),
}


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
@pytest.mark.parametrize("email_lookup", ["auto", "scan"])
@pytest.mark.parametrize("case", NON_ASCII_CAPITALS.values(), ids=NON_ASCII_CAPITALS.keys())
def test_a_user_is_matched_whatever_non_ascii_capitals_on_every_collation(engine, case, email_lookup):
    column, stored, recipient = case
    create_accounts(engine, column, count=20)
    add_account(engine, 77, stored)
    store = EventStore(engine, replace(ACCOUNTS, email_lookup=email_lookup))

    assert deliver(store, recipient, "strasse@example.de", "ilknur@example.tr") == {
        recipient: 77,
        "strasse@example.de": None,  # ß and ss are two mailboxes
        "ilknur@example.tr": None,  # İ has no one-letter lowercase: the rule keeps it
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_matches_non_ascii_capitals_by_the_same_rule(engine):
    create_accounts(engine)
    add_account(engine, 77, "JÖRG@example.de")
    add_account(engine, 78, "ΟΔΟΣ@example.gr")
    add_account(engine, 79, "STRAẞE@example.de")
    store = EventStore(engine, ACCOUNTS)

    assert deliver(store, "jörg@example.de", "οδος@example.gr", "straße@example.de", "strasse@example.de") == {
        "jörg@example.de": 77,
        "οδος@example.gr": 78,
        "straße@example.de": 79,
        "strasse@example.de": None,
    }


# A letter or two of the languages the legacy character sets were made for, and what no one of them holds.
SCRIPT_SAMPLES = ["JÖRG", "ŁUKASZ", "ЖЕНЯ", "ΣΟΦΙΑ", "שלום", "ŞULE", "ĀRIS", "ԱՐԱՄ", "ÇA", "東京", "김", "ไทย", "ქართ"]
NOWHERE_BUT_UNICODE = ["\U0001f600", "\u2603\U0001f600", "ẞ\U0001f600"]


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_every_character_set_the_server_ships_looks_users_up_without_failing_a_batch(engine):
    with engine.connect() as connection:
        charsets = connection.exec_driver_sql("SHOW CHARACTER SET").scalars().all()
    assert len(charsets) >= 30
    failures = {}
    for charset in charsets:
        table = UsersTable(name=f"users_{charset}", id_column="id", email_column="mail", validated_column="ok")
        column = "VARBINARY(320)" if charset == "binary" else f"VARCHAR(320) CHARACTER SET {charset}"
        with engine.begin() as connection:
            connection.exec_driver_sql(
                f"CREATE TABLE {table.name} (id INTEGER PRIMARY KEY, mail {column}, ok INTEGER, INDEX (mail))"
            )
        users = {}
        for user_id, name in enumerate(["BOSS", *SCRIPT_SAMPLES], start=1):
            address = f"{name}.{charset}@Corp.Example"
            try:
                with engine.begin() as connection:
                    connection.exec_driver_sql("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
                    connection.exec_driver_sql(
                        f"INSERT INTO {table.name} VALUES (%(id)s, %(mail)s, 1)", {"id": user_id, "mail": address}
                    )
                    stored = connection.exec_driver_sql(
                        f"SELECT CONVERT(mail USING utf8mb4) FROM {table.name} WHERE id = %(id)s", {"id": user_id}
                    ).scalar()
            except Exception:
                continue  # the column cannot hold this address: no user has it
            if stored == address:
                users[normalize_address(address).upper() if name == "BOSS" else address.lower()] = user_id
        unregistered = [f"{text}.{charset}@corp.example" for text in NOWHERE_BUT_UNICODE]
        store = EventStore(engine, table)
        try:
            found = deliver(store, *users, *unregistered)
        except Exception as error:
            failures[charset] = f"batch failed: {type(error).__name__}: {error}"[:200]
            continue
        expected = {**users, **dict.fromkeys(unregistered)}
        if found != expected:
            failures[charset] = {k: v for k, v in found.items() if expected[k] != v}
    assert failures == {}


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_mariadb_url_is_searched_through_the_index_too(engine, database_url):
    """DATABASE_URL=mariadb+pymysql://... names SQLAlchemy's mariadb dialect: the same server, the same lookup."""
    create_accounts(engine, "COLLATE utf8mb4_unicode_ci")
    add_account(engine, 77, "Boss@Corp.Example")
    url = make_url(database_url).set(drivername="mariadb+pymysql")
    mariadb = database.build_engine(url.render_as_string(hide_password=False))
    try:
        store = EventStore(mariadb, ACCOUNTS)
        assert deliver(store, "boss@corp.example") == {"boss@corp.example": 77}
        assert (mariadb.dialect.name, store.users.uses_index) == ("mariadb", True)
    finally:
        mariadb.dispose()
