"""The (message, recipient) pairs counted in EmailNotRegisteredCount: first seen when SES first reported them
(issue 17)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ses_guard import schema
from ses_guard.parsing import InboundRecord
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.support import pipeline

pytestmark = both_databases

SENT = datetime(2026, 11, 1, 9, 0, 0, 123000)


def pairs(engine):
    table = schema.unregistered_recipient
    with engine.connect() as connection:
        rows = connection.execute(
            select(table.c.ses_message_id, table.c.destination_address, table.c.first_seen).order_by(
                table.c.destination_address
            )
        )
        return [tuple(row) for row in rows]


def test_a_pair_reported_several_times_in_one_batch_is_first_seen_at_its_earliest_event(engine):
    message_id = "0100018pairs-000000"
    later = ses.notification(
        "Delivery", ["ghost@elsewhere.test"], message_id=message_id, sent=SENT, event_time=SENT + timedelta(minutes=5)
    )
    earlier = ses.notification(
        "Send", ["ghost@elsewhere.test"], message_id=message_id, sent=SENT, event_publishing=True
    )
    delay = ses.notification(
        "DeliveryDelay",
        ["ghost@elsewhere.test"],
        message_id=message_id,
        sent=SENT,
        event_time=SENT + timedelta(minutes=1),
        event_publishing=True,
    )

    outcome = pipeline.process([InboundRecord(str(n), m) for n, m in enumerate([later, delay, earlier])], engine)

    assert outcome.stored.new_unregistered_pairs == 1
    assert pairs(engine) == [(message_id, "ghost@elsewhere.test", SENT)]
