"""The parser alone: how SES's two formats and their wrappings become recipient events."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from ses_guard.lambda_events import inbound_records, trigger
from ses_guard.parsing import (
    SNS_SOURCE,
    SQS_SOURCE,
    InboundRecord,
    InvalidRecord,
    Skipped,
    enhanced_status_code,
    parse_record,
    parse_timestamp,
)
from tests import ses_samples as ses


def parse(message, sns_id="sns-1"):
    return parse_record(InboundRecord("r1", ses.sns_envelope(message, message_id=sns_id)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-01-27T14:59:38.237Z", datetime(2016, 1, 27, 14, 59, 38, 237000)),
        ("2016-01-27T14:59:38Z", datetime(2016, 1, 27, 14, 59, 38)),
        ("2016-01-27T14:59:38.2Z", datetime(2016, 1, 27, 14, 59, 38, 200000)),
        ("2016-01-27T14:59:38.237891Z", datetime(2016, 1, 27, 14, 59, 38, 237000)),
        ("2016-01-27T16:59:38.5+02:00", datetime(2016, 1, 27, 14, 59, 38, 500000)),
    ],
)
def test_timestamps_become_naive_utc_at_millisecond_precision(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "", None, 1453906778, "2016-02-30T14:59:38.237Z"])
def test_unreadable_timestamps_are_invalid_records(text):
    with pytest.raises(InvalidRecord):
        parse_timestamp(text)


def test_a_bounce_yields_one_event_per_bounced_recipient_with_its_details():
    message = ses.notification(
        "Bounce",
        ["a@x.test", "b@x.test"],
        bounce_type="Transient",
        bounce_sub_type="MailboxFull",
        diagnostic="smtp; 552 full",
    )
    events = parse(message)
    assert [e.destination_address for e in events] == ["a@x.test", "b@x.test"]
    first = events[0]
    assert (first.status, first.bounce_type, first.bounce_sub_type) == ("Bounce", "Transient", "MailboxFull")
    assert first.diagnostic_code == "smtp; 552 full"
    assert first.feedback_id == message["bounce"]["feedbackId"]
    assert first.aws_sns_message_id == "sns-1"
    assert first.ses_message_id == message["mail"]["messageId"]
    assert first.caller_identity == "app-sender"
    assert first.sending_account_id == ses.ACCOUNT


def test_a_complaint_keeps_its_feedback_type():
    [event] = parse(ses.notification("Complaint", ["a@x.test"]))
    assert (event.status, event.complaint_feedback_type) == ("Complaint", "abuse")


def test_the_event_key_is_the_same_through_both_paths_and_differs_per_event():
    identity = ses.notification("Bounce", ["A@x.test"])
    published = json.loads(json.dumps(identity))
    published["eventType"] = published.pop("notificationType")
    published["bounce"]["bouncedRecipients"][0]["emailAddress"] = " a@X.test "
    [from_identity] = parse(identity, sns_id="one")
    [from_publishing] = parse(published, sns_id="two")
    assert from_identity.event_key == from_publishing.event_key

    delivered = ses.notification("Delivery", ["a@x.test"], message_id=identity["mail"]["messageId"])
    [delivery] = parse(delivered)
    assert delivery.event_key != from_identity.event_key
    assert delivery.pair_key == from_identity.pair_key


def test_a_missing_subject_is_stored_as_null():
    [event] = parse(ses.notification("Delivery", ["a@x.test"], subject=None))
    assert event.subject is None


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda m: m.pop("mail"), "no 'mail' object"),
        (lambda m: m["mail"].pop("messageId"), "mail.messageId is missing"),
        (lambda m: m["delivery"].update(recipients="a@x.test"), "recipients are not a list"),
        (lambda m: m["delivery"].update(recipients=[42]), "recipient address is missing or not a string"),
        (lambda m: m["delivery"].update(recipients=["   "]), "recipient address is empty"),
        (lambda m: m["delivery"].update(recipients=["a" * 321]), "longer than 320"),
        (lambda m: m["delivery"].pop("recipients"), "names no recipients"),
        (lambda m: m["delivery"].update(timestamp="soon"), "not an ISO 8601 time"),
    ],
)
def test_structurally_broken_notifications_are_invalid_records(mutate, reason):
    message = ses.notification("Delivery", ["a@x.test"])
    mutate(message)
    with pytest.raises(InvalidRecord, match=reason):
        parse(message)


@pytest.mark.parametrize(
    "payload",
    [
        {"Type": "SubscriptionConfirmation", "MessageId": "1", "Message": "confirm", "SubscribeURL": "https://x"},
        ses.sns_envelope({"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "ok"}),
        ses.sns_envelope({"eventType": "Teleport", "mail": {}}),
        ses.sns_envelope({"something": "else"}),
    ],
)
def test_handshakes_and_unknown_types_are_skipped(payload):
    assert isinstance(parse_record(InboundRecord("r", json.dumps(payload))), Skipped)


def test_an_identity_notification_of_mail_that_named_a_configuration_set_is_left_to_that_sets_pipeline():
    # Identity notifications come for all of the identity's mail; the configuration set's own events
    # already record mail that named one.
    through_a_set = ses.notification("Bounce", ["a@x.test"])
    through_a_set["mail"]["tags"] = {"ses:configuration-set": ["app-b"], "ses:operation": ["SendEmail"]}
    assert parse(through_a_set) == Skipped("identity notification of mail sent through a configuration set")

    published = json.loads(json.dumps(through_a_set))
    published["eventType"] = published.pop("notificationType")
    [event] = parse(published)
    assert event.configuration_set == "app-b"

    without_a_set = ses.notification("Bounce", ["a@x.test"])
    without_a_set["mail"]["tags"] = {"ses:operation": ["SendRawEmail"], "ses:configuration-set": []}
    [event] = parse(without_a_set)
    assert event.destination_address == "a@x.test"


def test_a_non_object_notification_is_invalid():
    with pytest.raises(InvalidRecord, match="not a JSON object"):
        parse_record(InboundRecord("r", ses.sns_envelope("[1, 2]")))


def test_inbound_records_reads_sqs_and_sns_events_and_rejects_anything_else():
    sqs = inbound_records(ses.sqs_event(["{}"]))
    assert sqs[0].record_id.startswith("sqs-0-")
    sns = inbound_records(ses.sns_event(["{}"], message_id="m-9"))
    assert sns[0].record_id == "m-9"
    with pytest.raises(ValueError, match="no Records list"):
        inbound_records({"detail-type": "Scheduled Event"})


@pytest.mark.parametrize(
    ("diagnostic", "code"),
    [
        ("smtp; 550 5.1.1 user unknown", "5.1.1"),
        ("smtp; 550-5.1.1 The email account that you tried to reach does not exist. - gsmtp", "5.1.1"),
        ("smtp; 552 5.2.2 Mailbox full", "5.2.2"),
        ("smtp; 452 4.2.2 The email account that you tried to reach is over quota.", "4.2.2"),
        ("smtp; 554 5.7.1 Service unavailable; Client host [192.0.2.25] blocked using zen.spamhaus.org", "5.7.1"),
        ("smtp; 550 #5.1.0 Address rejected.", "5.1.0"),
        ("smtp; 421 Service not available, 10.4.5.6 closing channel", None),
        ("smtp; 550 Requested action not taken: mailbox unavailable", None),
        ("Amazon SES did not send the message to this address because it is on the suppression list", None),
        (None, None),
    ],
)
def test_the_enhanced_status_code_is_read_from_the_diagnostic_code(diagnostic, code):
    assert enhanced_status_code(diagnostic) == code


def test_each_bounced_recipient_carries_its_servers_code():
    events = parse(ses.notification("Bounce", ["a@example.com"], diagnostic="smtp; 550 5.1.1 user unknown"))
    assert [event.enhanced_status_code for event in events] == ["5.1.1"]


def test_a_mixed_event_is_read_as_the_trigger_its_first_record_names():
    sqs_first = ses.sqs_event(["{}"])
    sqs_first["Records"] += ses.sns_event(["{}"], message_id="m-9")["Records"]
    assert trigger(sqs_first) == SQS_SOURCE
    assert [record.via for record in inbound_records(sqs_first)] == [SQS_SOURCE, SQS_SOURCE]

    sns_first = ses.sns_event(["{}"], message_id="m-9")
    sns_first["Records"] += ses.sqs_event(["{}"])["Records"]
    assert trigger(sns_first) == SNS_SOURCE
    # The SQS-shaped record names no topic: provenance drops it as foreign.
    assert [record.payload.get("TopicArn") is None for record in inbound_records(sns_first)] == [False, True]
