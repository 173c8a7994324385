"""The users lookup puts the email column's character set and collation, as the server's catalog names them, into
its probe SQL: a name that is not a plain identifier must never reach SQL (issue 17).

SQLite plays the server here: an attached `information_schema` database answers the catalog query, and any
probe sent to it would fail (SQLite has no CONVERT ... USING), so a test passes only if no probe was sent.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event

from ses_guard.settings import UsersTable
from ses_guard.users import ColumnCollation, column_collation

USERS = UsersTable()


@pytest.fixture
def catalog():
    """An engine whose information_schema.COLUMNS holds what a test puts there, and the SQL it was sent."""
    engine = create_engine("sqlite://")
    statements = []

    @event.listens_for(engine, "connect")
    def _catalog(dbapi_connection, _record):
        dbapi_connection.create_function("DATABASE", 0, lambda: "app")
        dbapi_connection.execute("ATTACH DATABASE ':memory:' AS information_schema")
        dbapi_connection.execute(
            "CREATE TABLE information_schema.COLUMNS (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME,"
            " CHARACTER_SET_NAME, COLLATION_NAME)"
        )

    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def answer(charset, collation):
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "INSERT INTO information_schema.COLUMNS VALUES ('app', ?, ?, ?, ?)",
                (USERS.name, USERS.email_column, charset, collation),
            )
            statements.clear()
            return column_collation(connection, USERS), list(statements)

    yield answer
    engine.dispose()


@pytest.mark.parametrize(
    "charset, collation",
    [
        ("utf8mb4", "utf8mb4_bin) = 1; DROP TABLE users; --"),
        ("utf8mb4 COLLATE utf8mb4_bin; DROP TABLE users; --", "utf8mb4_bin"),
        ("latin1", "latin1 swedish ci"),
    ],
)
def test_a_catalog_name_that_is_not_a_plain_identifier_is_never_put_into_sql(catalog, charset, collation):
    found, statements = catalog(charset, collation)

    # Kept as the catalog says, and compared the safe way: the broad search, never the column's index.
    assert found == ColumnCollation(charset, collation, ignores_case_and_trailing_spaces=False)
    assert len(statements) == 1 and "information_schema.COLUMNS" in statements[0]


def test_a_binary_column_has_no_collation_and_is_searched_the_safe_way(catalog):
    found, statements = catalog(None, None)

    assert found == ColumnCollation(None, None, ignores_case_and_trailing_spaces=False)
    assert len(statements) == 1
