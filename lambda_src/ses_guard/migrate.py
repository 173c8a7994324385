"""Schema management for the tables the guard owns (Alembic, versioned in its own table), and the checks
commands run before touching a database."""

from __future__ import annotations

from typing import List, Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, or_, select
from sqlalchemy.engine import Engine

from ses_guard import schema
from ses_guard.settings import UsersTable

DEMO_USERS = ("user1@example.com", "user2@example.com", "user3@example.com")
# The users-table variables, by the UsersTable field each one fills (as settings.users_table reads them).
USERS_VARIABLES = {
    "name": "USERS_TABLE",
    "id_column": "USERS_ID_COLUMN",
    "email_column": "USERS_EMAIL_COLUMN",
    "validated_column": "USERS_VALIDATED_COLUMN",
}


class SchemaProblem(Exception):
    """The database is not as the guard needs it; the message says what to run or which variable to set."""


class DemoRefused(Exception):
    """init-demo would have written into a users table that holds someone else's rows."""


def _alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", "ses_guard:migrations")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the log tables; running it again when up to date changes nothing."""
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> Optional[str]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": schema.VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def require_guard_tables(engine: Engine) -> None:
    """SchemaProblem unless the guard's tables are at the revision this package writes."""
    revision, head = current_revision(engine), head_revision()
    if revision is None:
        raise SchemaProblem(
            f"the guard's tables ({', '.join(schema.metadata.tables)}) do not exist here: run `ses-guard db upgrade`"
        )
    if revision != head:
        raise SchemaProblem(f"the guard's tables are at revision {revision}, not {head}: run `ses-guard db upgrade`")


def missing_users_columns(engine: Engine, config: UsersTable) -> Optional[List[str]]:
    """The configured users columns the table lacks; None if the table itself does not exist."""
    inspector = inspect(engine)
    if not inspector.has_table(config.name):
        return None
    present = {column["name"].lower() for column in inspector.get_columns(config.name)}
    return [
        f"{variable}={getattr(config, field)}"
        for field, variable in USERS_VARIABLES.items()
        if field != "name" and getattr(config, field).lower() not in present
    ]


def require_users_table(engine: Engine, config: UsersTable) -> None:
    """SchemaProblem naming the variable to set unless the users table has the configured columns."""
    missing = missing_users_columns(engine, config)
    if missing is None:
        raise SchemaProblem(
            f"no users table {config.name!r} in this database: set USERS_TABLE to the application's users table "
            "(or run `ses-guard db init-demo` for a demo one)"
        )
    if missing:
        columns = sorted(column["name"] for column in inspect(engine).get_columns(config.name))
        raise SchemaProblem(
            f"table {config.name!r} has no column for {', '.join(missing)} (it has {', '.join(columns)}): "
            f"set {' and '.join(m.partition('=')[0] for m in missing)} to its column names"
        )


def init_demo_users(engine: Engine, config: UsersTable) -> int:
    """Create a seed-shaped users table holding the seed's three validated users; returns how many were added.

    Refuses (DemoRefused) a users table that holds any other row: it is an application's, not a demo's.
    """
    if missing_users_columns(engine, config):
        require_users_table(engine, config)
    users = schema.users_table(config)
    email = users.c[config.email_column]
    with engine.begin() as connection:
        users.create(connection, checkfirst=True)
        foreign = connection.execute(
            select(func.count()).select_from(users).where(or_(email.is_(None), email.not_in(DEMO_USERS)))
        ).scalar()
        if foreign:
            raise DemoRefused(
                f"table {config.name!r} holds {foreign} row(s) that are not demo users: init-demo writes only into "
                "an empty or demo users table; use an empty database or another USERS_TABLE"
            )
        present = set(connection.execute(select(email).where(email.in_(DEMO_USERS))).scalars())
        missing = [address for address in DEMO_USERS if address not in present]
        if missing:
            connection.execute(
                users.insert(),
                [{config.email_column: address, config.validated_column: 1} for address in missing],
            )
    return len(missing)
