"""One malformed record must fail alone (a batch item failure), never the whole batch.

Each input here was found by the fuzzing in test_parser_fuzz.py; an exception other than
InvalidRecord makes the handler raise, so SQS redelivers the whole batch, which fails the same way
every time until every record of it lands in the DLQ: the good records' events are lost.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ses_guard import handlers, schema
from tests import ses_samples as ses
from tests.conftest import both_databases

pytestmark = both_databases


def stored_addresses(engine) -> set:
    with engine.connect() as connection:
        return {
            row[0]
            for table in (schema.user_email_log, schema.unvalidated_email_log)
            for row in connection.execute(select(table.c.destination_address))
        }


def with_good_neighbours(bad_body: str) -> dict:
    good = [ses.notification("Delivery", ["user1@example.com"]), ses.notification("Bounce", ["ghost@elsewhere.test"])]
    return ses.sqs_event([ses.sns_envelope(good[0]), bad_body, ses.sns_envelope(good[1])])


def invoke_and_check(engine, lambda_context, bad_body: str, may_pass: bool = False) -> None:
    """The bad record is a batch item failure (or, if `may_pass`, skipped/stored); its neighbours are stored."""
    event = with_good_neighbours(bad_body)
    bad_id = event["Records"][1]["messageId"]

    response = handlers.process_events(event, lambda_context)  # must not raise

    failures = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert failures in ([bad_id], []) if may_pass else failures == [bad_id]
    assert {"user1@example.com", "ghost@elsewhere.test"} <= stored_addresses(engine)


def envelope(message) -> str:
    return json.dumps(ses.sns_envelope(message))


@pytest.mark.parametrize("field", ["eventType", "notificationType"])
def test_an_event_type_that_is_a_list_is_skipped_or_fails_alone(engine, lambda_context, field):
    # parsing.py parse_record: `kind not in DETAIL_KEYS` -> TypeError: unhashable type: 'list'
    message = ses.notification("Bounce", ["user3@example.com"], event_publishing=field == "eventType")
    message[field] = ["Bounce"]
    invoke_and_check(engine, lambda_context, envelope(message), may_pass=True)  # an unknown type: skip or fail


def test_an_sns_type_that_is_a_list_fails_only_its_record(engine, lambda_context):
    # parsing.py _unwrap: `payload["Type"] in _SNS_HANDSHAKES` -> TypeError: unhashable type: 'list'
    body = json.dumps(
        {
            "Type": ["Notification"],
            "TopicArn": ses.sns_envelope({})["TopicArn"],
            "Message": json.dumps(ses.notification("Delivery", ["a@b.test"])),
        }
    )
    invoke_and_check(engine, lambda_context, body)


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00.000+01:00", "9999-12-31T23:59:59.999-01:00"])
def test_a_timestamp_that_leaves_the_calendar_in_utc_fails_only_its_record(engine, lambda_context, stamp):
    # parsing.py parse_timestamp: parsed.astimezone(timezone.utc) -> OverflowError: date value out of range
    message = ses.notification("Delivery", ["user2@example.com"])
    message["delivery"]["timestamp"] = stamp
    invoke_and_check(engine, lambda_context, envelope(message))


def test_a_recipient_with_a_lone_surrogate_fails_only_its_record(engine, lambda_context):
    # JSON "\ud800" is valid JSON but not valid Unicode; parsing.py _address accepts it, then
    # RecipientEvent.event_key (and the database driver) raise UnicodeEncodeError for the whole batch.
    message = ses.notification("Delivery", ["victim\ud800@elsewhere.test"])
    invoke_and_check(engine, lambda_context, envelope(message))


def test_a_message_id_with_a_lone_surrogate_fails_only_its_record(engine, lambda_context):
    message = ses.notification("Delivery", ["victim@elsewhere.test"], message_id="0100018c\udfff-000000")
    invoke_and_check(engine, lambda_context, envelope(message))


def test_a_subject_with_a_lone_surrogate_does_not_fail_the_batch(engine, lambda_context):
    # The subject is free text: storing it repaired, or failing the record, are both acceptable.
    message = ses.notification("Delivery", ["victim@elsewhere.test"], subject="Invoice \ud83d attached")
    invoke_and_check(engine, lambda_context, envelope(message), may_pass=True)


def test_a_record_that_is_no_object_is_skipped_and_its_neighbours_stored(engine, lambda_context):
    event = with_good_neighbours(envelope(ses.notification("Delivery", ["user2@example.com"])))
    event["Records"].insert(0, "not a record")

    response = handlers.process_events(event, lambda_context)  # must not raise

    assert response == {"batchItemFailures": []}
    assert {"user1@example.com", "user2@example.com", "ghost@elsewhere.test"} <= stored_addresses(engine)
