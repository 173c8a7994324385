"""Schema management for the tables the guard owns (Alembic, versioned in its own table)."""

from __future__ import annotations

from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ses_guard import schema
from ses_guard.settings import UsersTable

DEMO_USERS = ("user1@example.com", "user2@example.com", "user3@example.com")


def _alembic_config(connection) -> Config:
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


def init_demo_users(engine: Engine, config: UsersTable) -> int:
    """Create a seed-shaped users table holding the seed's three validated users; returns how many were added."""
    users = schema.users_table(config)
    email = users.c[config.email_column]
    with engine.begin() as connection:
        users.create(connection, checkfirst=True)
        present = set(connection.execute(select(email).where(email.in_(DEMO_USERS))).scalars())
        missing = [address for address in DEMO_USERS if address not in present]
        if missing:
            connection.execute(
                users.insert(),
                [{config.email_column: address, config.validated_column: 1} for address in missing],
            )
    return len(missing)
