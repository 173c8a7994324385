"""Which recipients an event is about, and which events are one: what a complaint names, and repeated events
for one recipient kept apart (issue 17)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from ses_guard import schema, suppress_bouncing_users
from ses_guard.parsing import InboundRecord
from ses_guard.settings import suppress_bouncing_users_settings
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.support import pipeline

pytestmark = both_databases

NOW = datetime(2026, 11, 28, 12, 0)
USERS = ["user1@example.com", "user2@example.com", "user3@example.com"]


def load(engine, notifications):
    records = [InboundRecord(f"record-{n}", message) for n, message in enumerate(notifications)]
    return pipeline.process(records, engine)


def logged(engine, table):
    with engine.connect() as connection:
        return [
            (row.destination_address, row.status, row.timestamp)
            for row in connection.execute(select(table).order_by(table.c.destination_address, table.c.timestamp))
        ]


@pytest.mark.parametrize("event_publishing", [False, True], ids=["identity-notification", "event-publishing"])
def test_a_complaint_about_a_mail_to_fifty_recipients_is_about_the_one_who_complained(engine, event_publishing):
    """mail.destination lists everyone the mail went to; complainedRecipients, who complained."""
    unregistered = [f"reader{n}@elsewhere.test" for n in range(47)]
    complaint = ses.notification(
        "Complaint",
        ["user2@example.com"],
        destination=USERS + unregistered,
        sent=NOW - timedelta(days=1),
        event_publishing=event_publishing,
    )

    outcome = load(engine, [complaint])

    assert [(event.destination_address, event.status) for event in outcome.events] == [
        ("user2@example.com", "Complaint")
    ]
    assert [row[:2] for row in logged(engine, schema.user_email_log)] == [("user2@example.com", "Complaint")]
    assert logged(engine, schema.unvalidated_email_log) == []
    changed = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)
    assert [(user.user_id, user.complaints, user.reason) for user in changed] == [
        (2, 1, "1 complaint(s) in the last 30 days")
    ]


@pytest.mark.parametrize("kind", ["DeliveryDelay", "Open", "Click"])
def test_repeated_events_for_one_recipient_of_one_mail_are_each_a_row(engine, kind):
    """SES retries a delayed delivery for hours and a reader opens a mail (or clicks) more than once: each is
    an event of its own time. Only a redelivery of the same event adds nothing."""
    sent = NOW - timedelta(hours=6)
    message_id = "0100018repeated-000000"
    times = [sent + timedelta(minutes=minutes) for minutes in (1, 30, 90)]
    events = [
        ses.notification(
            kind, ["user1@example.com"], message_id=message_id, sent=sent, event_time=moment, event_publishing=True
        )
        for moment in times
    ]

    first = load(engine, events)
    again = load(engine, events)

    assert logged(engine, schema.user_email_log) == [("user1@example.com", kind, moment) for moment in times]
    assert (first.stored.user_rows, again.stored.user_rows) == (3, 0)
