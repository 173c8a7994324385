"""Property-based fuzzing of the parser: arbitrary JSON and mutated real SES notifications.

The one documented per-record failure is InvalidRecord; any other exception would fail a whole batch
again on every redelivery (a poison batch). Whatever the parser accepts must also be storable: the
store computes each event's keys, so those must work too.

Deterministic for CI: derandomized, no example database, a bounded number of examples.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ses_guard.lambda_events import inbound_records
from ses_guard.parsing import (
    DETAIL_KEYS,
    InboundRecord,
    InvalidRecord,
    RecipientEvent,
    Skipped,
    parse_record,
)
from tests import ses_samples as ses

pytestmark = pytest.mark.slow  # hypothesis runs hundreds of examples

CI = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=400,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Keys and values the parser looks at, so that random documents reach deep into it.
KEYS = [
    "eventType", "notificationType", "mail", "messageId", "destination", "timestamp", "Type", "Message",
    "MessageId", "bounce", "bouncedRecipients", "emailAddress", "diagnosticCode", "complaint",
    "complainedRecipients", "delivery", "recipients", "deliveryDelay", "delayedRecipients", "send", "reject",
    "reason", "failure", "errorMessage", "source", "sourceIp", "sourceArn", "tags", "ses:source-ip",
    "commonHeaders", "subject", "bounceType", "feedbackId", "callerIdentity", "Records", "eventSource",
    "EventSource", "Sns", "body",
]  # fmt: skip
VALUES = [
    *ses.EVENT_KINDS, "Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation",
    "AmazonSnsSubscriptionSucceeded", "aws:sqs", "aws:sns", "2026-11-01T09:00:00.000Z", "2026-11-01T09:00:00Z",
    "2026-11-01T09:00:00.123456789+02:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
    "user1@example.com", " USER2@Example.com ", "", " ", "x'; DROP TABLE users; --@evil.test",
    "用户@例子.广告", "a\ud800@example.com", "Name <a@b.c>", "{", "[]", "null",
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(VALUES)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=40,
)


def check_record(record: InboundRecord) -> None:
    """parse_record's contract, as the processor and the store rely on it."""
    try:
        result = parse_record(record)
    except InvalidRecord:
        return
    if isinstance(result, Skipped):
        assert isinstance(result.reason, str)
        return
    assert isinstance(result, list) and result, "a non-skipped record yields at least one recipient event"
    for event in result:
        assert isinstance(event, RecipientEvent)
        assert isinstance(event.destination_address, str) and event.destination_address.strip()
        assert isinstance(event.ses_message_id, str) and event.ses_message_id
        assert isinstance(event.timestamp, datetime) and event.timestamp.tzinfo is None
        for name, value in vars(event).items():
            if isinstance(value, str):
                value.encode("utf-8")  # what the database driver does with every text column
            else:
                assert value is None or name == "timestamp", f"{name} is {type(value).__name__}"
        # What EventStore.save computes for every event: must not raise either.
        assert len(event.event_key) == 64 and len(event.pair_key) == 64


@CI
@given(json_values)
def test_parse_record_on_arbitrary_json_raises_only_invalid_record(document):
    check_record(InboundRecord("r1", document))
    check_record(InboundRecord("r2", json.dumps(document)))
    check_record(InboundRecord("r3", json.dumps({"Type": "Notification", "MessageId": "m", "Message": document})))
    check_record(InboundRecord("r4", {"Type": "Notification", "Message": json.dumps(document)}))


@CI
@given(json_values)
def test_inbound_records_on_arbitrary_events(document):
    for event in (document, {"Records": document}, {"Records": [document]}):
        has_records = isinstance(event, dict) and isinstance(event.get("Records"), list)
        try:
            records = inbound_records(event)
        except ValueError as error:
            # The whole event is not an SNS/SQS event at all: the handler fails the invocation.
            assert not has_records, f"an event with a Records list was refused: {error}"
            continue
        assert has_records
        assert len(records) == len(event["Records"])
        for record in records:
            check_record(record)


ADDRESSES = ["user1@example.com", "stranger@elsewhere.test", " MiXeD@Case.Example ", "o'brien@example.com"]
KIND_AND_FORMAT = [(kind, True) for kind in ses.EVENT_KINDS] + [(kind, False) for kind in ses.IDENTITY_KINDS]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _parent(document, path):
    node = document
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated_notifications(draw):
    kind, publishing = draw(st.sampled_from(KIND_AND_FORMAT))
    recipients = draw(st.lists(st.sampled_from(ADDRESSES), min_size=1, max_size=3, unique=True))
    message = ses.notification(kind, recipients, event_publishing=publishing, message_id="0100018c-fuzz-000000")
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from([path for path in _paths(message) if path]))
        parent = _parent(message, path)
        operation = draw(st.sampled_from(["delete", "replace", "nasty", "nasty", "wrap", "stringify", "empty"]))
        if operation == "delete":
            del parent[path[-1]]
        elif operation == "replace":
            parent[path[-1]] = draw(json_values)
        elif operation == "nasty":
            parent[path[-1]] = draw(st.sampled_from(VALUES))
        elif operation == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        elif operation == "stringify":
            parent[path[-1]] = json.dumps(parent[path[-1]])
        else:
            parent[path[-1]] = type(parent[path[-1]])()
    return message


def wrappings(message, cut: int):
    text = json.dumps(message)
    envelope = ses.sns_envelope(message, message_id="sns-fuzz")
    yield InboundRecord("raw-object", copy.deepcopy(message))
    yield InboundRecord("raw-body", text)
    yield InboundRecord("sns-envelope", json.dumps(envelope))
    yield InboundRecord("truncated", text[:cut])
    yield InboundRecord("truncated-envelope", json.dumps({**envelope, "Message": text[:cut]}))
    yield from inbound_records(ses.sns_event([message], message_id="sns-fuzz"))


@CI
@given(mutated_notifications(), st.integers(min_value=0, max_value=4000))
def test_mutated_real_notifications_raise_only_invalid_record(message, cut):
    for record in wrappings(message, cut):
        check_record(record)


iso_timestamps = st.builds(
    lambda moment, offset: moment.isoformat() + offset,
    st.datetimes(),
    st.sampled_from(["Z", "+00:00", "+01:00", "-01:00", "+14:00", "-12:00", ""]),
)
# Mostly well-formed times (so that records get past the timestamp), sometimes junk.
timestamps = st.one_of(iso_timestamps, iso_timestamps, iso_timestamps, st.text(max_size=30), st.sampled_from(VALUES))
wild_text = st.lists(
    st.sampled_from([*"aZ0@.'\";-/* <>", "\t", "\n", "\x00", "\ud800", "\udfff", "用", "ü"])
    | st.characters(exclude_categories=()),
    max_size=40,
).map("".join)


@CI
@given(
    st.sampled_from(KIND_AND_FORMAT),
    st.fixed_dictionaries(
        {
            "recipient": wild_text.filter(str.strip),
            "message_id": wild_text.filter(bool),
            "source": wild_text,
            "subject": wild_text,
        },
    ),
    timestamps,
    timestamps,
)
def test_real_notifications_with_wild_field_values(kind_and_format, fields, event_time, mail_time):
    """Each field the parser reads, filled with what a hostile or broken sender could put there."""
    kind, publishing = kind_and_format
    message = ses.notification(kind, [fields["recipient"]], event_publishing=publishing, message_id="m")
    message["mail"].update(
        messageId=fields["message_id"], source=fields["source"], timestamp=mail_time,
        commonHeaders={"subject": fields["subject"]},
    )  # fmt: skip
    detail = message.get(DETAIL_KEYS[kind])
    if isinstance(detail, dict) and "timestamp" in detail:
        detail["timestamp"] = event_time
    for record in wrappings(message, cut=len(json.dumps(message)) // 2):
        check_record(record)


@CI
@given(st.sampled_from(KIND_AND_FORMAT), st.integers(min_value=0, max_value=4000))
def test_unmutated_notifications_always_parse(kind_and_format, cut):
    """Control: the real notifications the mutations start from are accepted (the fuzzing is not vacuous)."""
    kind, publishing = kind_and_format
    message = ses.notification(kind, ADDRESSES[:2], event_publishing=publishing, message_id="0100018c-ok-000000")
    events = parse_record(InboundRecord("ok", json.dumps(ses.sns_envelope(message, message_id="sns-ok"))))
    assert [event.destination_address for event in events] == ADDRESSES[:2]
    assert {event.status for event in events} == {kind}
    text = json.dumps(message)
    if cut < len(text):
        try:
            parse_record(InboundRecord("cut", text[:cut]))
        except InvalidRecord as error:
            assert "not valid JSON" in str(error)
        else:
            raise AssertionError("a truncated notification was accepted")
