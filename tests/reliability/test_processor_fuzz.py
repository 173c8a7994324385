"""Property: whatever one record holds, the processor stores its neighbours and never fails the batch;
what it accepts from that record reads back from the database exactly as parsed (SQLite and MariaDB).
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ses_guard import processor, schema
from ses_guard.parsing import InboundRecord, InvalidRecord, parse_record
from ses_guard.provenance import Source
from ses_guard.settings import UsersTable
from ses_guard.store import EventStore
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.reliability.test_parser_fuzz import mutated_notifications, wild_text

pytestmark = [both_databases, pytest.mark.slow]  # slow: hypothesis runs hundreds of examples

DB_FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=80,
    # One database for all examples: every example's good records use fresh message ids.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
_ids = itertools.count()

COMPARED = ("destination_address", "source_address", "subject", "diagnostic_code", "source_ip", "status", "timestamp")


def stored_rows(engine, keys):
    rows = {}
    with engine.connect() as connection:
        for table in (schema.user_email_log, schema.unvalidated_email_log):
            query = select(table).where(table.c.event_key.in_(keys))
            rows.update({row.event_key: row._mapping for row in connection.execute(query)})
    return rows


def _parsed(record):
    try:
        result = parse_record(record)
    except InvalidRecord:
        return []
    return result if isinstance(result, list) else []


def check_batch(engine, suspect_body: str) -> None:
    n = next(_ids)
    good = [
        ses.notification("Delivery", ["user1@example.com"], message_id=f"good-a-{n}"),
        ses.notification("Bounce", [f"ghost{n}@elsewhere.test"], message_id=f"good-b-{n}"),
    ]
    records = [
        InboundRecord("good-a", json.dumps(ses.sns_envelope(good[0], message_id=f"sns-a-{n}"))),
        InboundRecord("suspect", suspect_body),
        InboundRecord("good-b", json.dumps(ses.sns_envelope(good[1], message_id=f"sns-b-{n}"))),
    ]

    store = EventStore(engine, UsersTable())
    # Examples share one database: an event an earlier example stored keeps its first row (exactly once).
    known = set(stored_rows(engine, [e.event_key for r in records for e in _parsed(r)]))

    outcome = processor.process(records, store, Source())  # must not raise

    assert set(outcome.failed_record_ids) <= {"suspect"}
    assert {"user1@example.com", f"ghost{n}@elsewhere.test"} <= {e.destination_address for e in outcome.events}
    stored = stored_rows(engine, [event.event_key for event in outcome.events])
    assert len(stored) == len({event.event_key for event in outcome.events}), "an accepted event was not stored"
    for event in outcome.events:
        if event.event_key in known:
            continue
        row = stored[event.event_key]
        for column in COMPARED:
            assert row[column] == getattr(event, column), f"{column} changed on its way through the database"


@DB_FUZZ
@given(mutated_notifications())
def test_a_mutated_record_never_fails_its_batch(engine, message):
    check_batch(engine, json.dumps(ses.sns_envelope(message, message_id="sns-suspect")))


@DB_FUZZ
@given(st.fixed_dictionaries({"recipient": wild_text.filter(str.strip), "source": wild_text, "subject": wild_text}))
def test_wild_text_is_stored_exactly_as_parsed(engine, fields):
    message = ses.notification(
        "Bounce",
        [fields["recipient"]],
        message_id=f"wild-{next(_ids)}",
        source=fields["source"],
        subject=fields["subject"],
        diagnostic="smtp; 550 " + fields["subject"],
    )
    check_batch(engine, json.dumps(ses.sns_envelope(message, message_id="sns-suspect")))
