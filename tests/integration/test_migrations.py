"""Upgrading a database that holds rows written by the previous release, on SQLite and MariaDB."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ses_guard import cli, database, migrate, schema
from ses_guard.parsing import RecipientEvent
from tests.conftest import both_databases

pytestmark = both_databases

PREVIOUS_RELEASE = "0002"


def previous_release_row(event: RecipientEvent, **extra) -> dict:
    """A log row as 0002's code wrote it: every column but the ones added since."""
    row = {column.name: getattr(event, column.name, None) for column in schema.user_email_log.columns}
    row.update(event_key=event.event_key, **extra)
    for added in ("enhanced_status_code", "user_email_id", "unvalidated_email_log_id", "created_at"):
        row.pop(added, None)
    return row


def test_the_upgrade_keeps_old_rows_reads_their_codes_and_is_idempotent(database_url, monkeypatch, capsys):
    engine = database.build_engine(database_url)
    migrate.upgrade(engine, PREVIOUS_RELEASE)
    when = datetime(2026, 11, 20, 8, 30)

    def event(message_id: str, status: str, address: str, diagnostic: str) -> RecipientEvent:
        return RecipientEvent(
            ses_message_id=message_id,
            status=status,
            timestamp=when,
            destination_address=address,
            diagnostic_code=diagnostic,
        )

    bounce = event("m1", "Bounce", "user3@example.com", "smtp; 550 5.1.1 user unknown")
    delivery = event("m2", "Delivery", "user1@example.com", "smtp; 250 2.0.0 OK")
    unregistered = event("m3", "Bounce", "nobody@elsewhere.test", "smtp; 452 4.2.2 full")
    with engine.begin() as connection:
        connection.execute(
            schema.user_email_log.insert(),
            [previous_release_row(bounce, user_id=3), previous_release_row(delivery, user_id=1)],
        )
        connection.execute(schema.unvalidated_email_log.insert(), [previous_release_row(unregistered)])

    monkeypatch.setenv("DATABASE_URL", database_url)
    assert cli.main(["db", "upgrade"]) == 0
    assert cli.main(["db", "upgrade"]) == 0
    upgraded, again = capsys.readouterr().out.splitlines()
    head = migrate.head_revision()
    assert upgraded.startswith(f"schema upgraded from revision 0002 to {head}: ")
    assert again == f"schema at revision {head}: up to date, nothing changed"

    users_log, unregistered_log = schema.user_email_log, schema.unvalidated_email_log
    with engine.connect() as connection:
        kept = connection.execute(
            select(users_log.c.ses_message_id, users_log.c.status, users_log.c.enhanced_status_code).order_by(
                users_log.c.ses_message_id
            )
        ).all()
        unregistered = connection.execute(
            select(unregistered_log.c.destination_address, unregistered_log.c.enhanced_status_code)
        ).all()
    engine.dispose()
    assert [tuple(row) for row in kept] == [("m1", "Bounce", "5.1.1"), ("m2", "Delivery", "2.0.0")]
    assert [tuple(row) for row in unregistered] == [("nobody@elsewhere.test", "4.2.2")]
