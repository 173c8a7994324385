"""The parser's words for what it rejected or skipped (the reason an operator reads in "record rejected" and in
the DLQ's investigation) and the values it keeps, cuts or drops (issue 17)."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime

import pytest

from ses_guard.parsing import SNS_SOURCE, InboundRecord, InvalidRecord, Skipped, parse_record, parse_timestamp
from tests import ses_samples as ses

MESSAGE_ID = "0100018reasons-000000"


def delivery():
    return ses.notification("Delivery", ["a@x.test"], message_id=MESSAGE_ID)


def via_sns(message, **envelope):
    return InboundRecord("r1", {**ses.sns_envelope(message, message_id="sns-1"), **envelope}, via=SNS_SOURCE)


def rejection(record):
    with pytest.raises(InvalidRecord) as raised:
        parse_record(record)
    return str(raised.value)


def changed(change):
    message = delivery()
    change(message)
    return InboundRecord("r1", message)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            InboundRecord("r1", "{not json"),
            "record body is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1)",
        ),
        (InboundRecord("r1", "[1, 2]"), "SES notification is not a JSON object"),
        (via_sns(delivery(), Type="Weird"), "unexpected SNS message type 'Weird'"),
        (via_sns(delivery(), Type="W" * 100), f"unexpected SNS message type {'W' * 64!r}"),
        (
            via_sns("not json"),
            "SNS Message is not valid JSON: Expecting value: line 1 column 1 (char 0)",
        ),
        (changed(lambda m: m.pop("mail")), "Delivery notification has no 'mail' object"),
        (changed(lambda m: m["mail"].pop("messageId")), "mail.messageId is missing or not a string"),
        (changed(lambda m: m["mail"].update(messageId="m" * 129)), "mail.messageId is longer than 128 characters"),
        (changed(lambda m: m["mail"].update(messageId="m\ud800")), "mail.messageId is not valid Unicode"),
        (changed(lambda m: m["delivery"].update(recipients="a@x.test")), "Delivery recipients are not a list"),
        (changed(lambda m: m["delivery"].update(recipients=[42])), "recipient address is missing or not a string"),
        (changed(lambda m: m["delivery"].update(recipients=["   "])), "recipient address is empty"),
        (
            changed(lambda m: m["delivery"].update(recipients=["a" * 321])),
            "recipient address is longer than 320 characters",
        ),
        (
            changed(lambda m: m["delivery"].pop("recipients")),
            f"Delivery notification for {MESSAGE_ID} names no recipients",
        ),
        (
            changed(lambda m: m["delivery"].update(timestamp="soon")),
            "timestamp 'soon' is not an ISO 8601 time in UTC's calendar",
        ),
        (
            changed(lambda m: (m["delivery"].pop("timestamp"), m["mail"].pop("timestamp"))),
            "event has no timestamp",
        ),
    ],
    ids=[
        "body-not-json",
        "not-an-object",
        "sns-type",
        "long-sns-type",
        "sns-message-not-json",
        "no-mail",
        "no-message-id",
        "long-message-id",
        "lone-surrogate",
        "recipients-not-a-list",
        "recipient-not-text",
        "blank-recipient",
        "long-recipient",
        "no-recipients",
        "unreadable-time",
        "no-time",
    ],
)
def test_a_rejected_record_says_exactly_why(record, reason):
    assert rejection(record) == reason


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (
            InboundRecord("r1", {"Type": "SubscriptionConfirmation", "MessageId": "1", "Message": "confirm"}),
            "SES test notification sent when the topic was attached",
        ),
        (
            InboundRecord("r1", {"notificationType": "AmazonSnsSubscriptionSucceeded"}),
            "SES test notification sent when the topic was attached",
        ),
        (InboundRecord("r1", {"eventType": "Teleport", "mail": {}}), "unknown SES event type 'Teleport'"),
        (InboundRecord("r1", {"something": "else"}), "unknown SES event type 'None'"),
        (InboundRecord("r1", {"eventType": "T" * 100, "mail": {}}), f"unknown SES event type {'T' * 64!r}"),
        # An envelope without its Message is read as a bare notification (of no known type), not a crash.
        (InboundRecord("r1", {"Type": "Notification", "MessageId": "1"}), "unknown SES event type 'None'"),
    ],
    ids=["sns-handshake", "ses-handshake", "unknown-type", "no-type", "long-type", "envelope-without-message"],
)
def test_a_skipped_record_says_why(record, reason):
    assert parse_record(record) == Skipped(reason)


def test_an_identity_notification_of_mail_through_a_configuration_set_says_why_it_is_skipped():
    message = delivery()
    message["mail"]["tags"] = {"ses:configuration-set": ["app-b"]}

    assert parse_record(InboundRecord("r1", message)) == Skipped(
        "identity notification of mail sent through a configuration set"
    )
    message["mail"]["tags"] = {"ses:configuration-set": []}
    assert parse_record(InboundRecord("r1", message)) != Skipped(
        "identity notification of mail sent through a configuration set"
    )


def test_a_subject_longer_than_its_column_is_cut_and_logged_with_its_length(caplog):
    message = delivery()
    message["mail"]["commonHeaders"]["subject"] = "S" * 1200

    with caplog.at_level(logging.WARNING):
        [event] = parse_record(InboundRecord("r1", message))

    assert event.subject == "S" * 998
    [line] = [record for record in caplog.records if record.getMessage() == "subject truncated to fit the column"]
    assert (line.levelno, line.ses_message_id, line.subject_length, line.kept) == (
        logging.WARNING,
        MESSAGE_ID,
        1200,
        998,
    )


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        ("Example App <noreply@example.com>", "noreply@example.com"),
        ("  noreply@example.com  ", "noreply@example.com"),
        ("Nobody <>", "Nobody <>"),  # no address inside: kept as it came
        ("Odd <a@x.test> trailer", "Odd <a@x.test> trailer"),
        ("x" * 400 + "@example.com", "x" * 320),
        ("Evil <fake@x.test> <real@example.com>", "real@example.com"),  # the last angle brackets
        # Past ten addresses' worth of text the source is cut before it is read: no address is looked for.
        ("x" * 3300 + " <real@example.com>", "x" * 320),
    ],
)
def test_the_sender_is_the_address_in_angle_brackets_cut_to_its_column(source, stored):
    message = delivery()
    message["mail"]["source"] = source

    [event] = parse_record(InboundRecord("r1", message))

    assert event.source_address == stored


def test_free_text_keeps_numbers_drops_other_types_and_replaces_what_utf8_cannot_store():
    message = delivery()
    message["mail"]["sourceIp"] = 2130706433  # a number where text belongs: kept as its digits
    message["mail"]["callerIdentity"] = {"arn": "x"}  # neither text nor a number: not stored
    message["mail"]["commonHeaders"]["subject"] = "caf\udce9"  # a lone surrogate: replaced
    message["delivery"]["feedbackId"] = True  # a boolean is no identifier

    [event] = parse_record(InboundRecord("r1", message))

    assert (event.source_ip, event.caller_identity, event.subject, event.feedback_id) == (
        "2130706433",
        None,
        "caf?",
        None,
    )


def test_tags_give_the_first_of_their_values_and_an_empty_one_gives_nothing():
    message = ses.notification("Delivery", ["a@x.test"], event_publishing=True, message_id=MESSAGE_ID)
    message["mail"]["tags"]["ses:source-ip"] = ["192.0.2.7", "192.0.2.8"]
    message["mail"]["tags"]["ses:caller-identity"] = []
    message["mail"]["tags"]["ses:configuration-set"] = "plain-string-set"

    [event] = parse_record(InboundRecord("r1", json.dumps(message)))

    assert (event.source_ip, event.caller_identity, event.configuration_set) == (
        "192.0.2.7",
        None,
        "plain-string-set",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "mail.messageId is missing or not a string"),
        (None, "mail.messageId is missing or not a string"),
    ],
)
def test_an_empty_message_id_is_missing(text, reason):
    assert rejection(changed(lambda m: m["mail"].update(messageId=text))) == reason


def test_a_long_unreadable_time_is_quoted_cut_to_64_characters():
    garbage = "0123456789" * 10

    assert rejection(changed(lambda m: m["delivery"].update(timestamp=garbage))) == (
        f"timestamp {garbage[:64]!r} is not an ISO 8601 time in UTC's calendar"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-01-27T14:59:38.237z", datetime(2016, 1, 27, 14, 59, 38, 237000)),
        ("2016-01-27T14:59:38.237+00:00", datetime(2016, 1, 27, 14, 59, 38, 237000)),
        ("2016-01-27T20:44:38.237+05:45", datetime(2016, 1, 27, 14, 59, 38, 237000)),
        ("2016-01-27T09:59:38.237-05:00", datetime(2016, 1, 27, 14, 59, 38, 237000)),
    ],
)
def test_an_event_time_in_any_offset_is_stored_in_utc(text, expected):
    assert parse_timestamp(text) == expected


def test_a_time_beyond_the_calendar_once_in_utc_is_rejected():
    assert rejection(changed(lambda m: m["delivery"].update(timestamp="0001-01-01T00:00:00+01:00"))) == (
        "timestamp '0001-01-01T00:00:00+01:00' is not an ISO 8601 time in UTC's calendar"
    )


@pytest.mark.parametrize(("subject", "stored"), [("", None), ("S" * 998, "S" * 998)])
def test_an_empty_subject_is_none_and_one_that_fits_is_kept_without_a_log_line(caplog, subject, stored):
    message = delivery()
    message["mail"]["commonHeaders"]["subject"] = subject

    with caplog.at_level(logging.WARNING):
        [event] = parse_record(InboundRecord("r1", message))

    assert event.subject == stored
    assert caplog.records == []


def test_a_rendering_failure_keeps_its_error_as_the_diagnostic():
    message = ses.notification("Rendering Failure", ["a@x.test"], event_publishing=True)

    [event] = parse_record(InboundRecord("r1", message))

    assert (event.status, event.diagnostic_code) == ("Rendering Failure", "Attribute 'name' is not present")


def test_every_free_text_field_longer_than_its_column_is_cut_to_it():
    bounce = ses.notification(
        "Bounce", ["a@x.test"], message_id=MESSAGE_ID, diagnostic="d" * 5000, event_publishing=True
    )
    bounce["mail"].update(sourceIp="1" * 100, sourceArn="a" * 600, callerIdentity="c" * 300, sendingAccountId="9" * 40)
    bounce["mail"]["tags"]["ses:configuration-set"] = ["s" * 300]
    bounce["bounce"].update(feedbackId="f" * 300, bounceType="T" * 40, bounceSubType="S" * 70)
    complaint = ses.notification("Complaint", ["a@x.test"], message_id=MESSAGE_ID, event_publishing=True)
    complaint["complaint"]["complaintFeedbackType"] = "k" * 70

    [event] = parse_record(InboundRecord("r1", bounce))
    [complained] = parse_record(InboundRecord("r1", complaint))

    assert {name: len(getattr(event, name)) for name in ("source_ip", "source_arn", "caller_identity")} == {
        "source_ip": 45,
        "source_arn": 512,
        "caller_identity": 255,
    }
    assert {
        name: len(getattr(event, name))
        for name in ("sending_account_id", "configuration_set", "feedback_id", "bounce_type", "bounce_sub_type")
    } == {
        "sending_account_id": 32,
        "configuration_set": 255,
        "feedback_id": 255,
        "bounce_type": 32,
        "bounce_sub_type": 64,
    }
    assert (len(event.diagnostic_code), len(complained.complaint_feedback_type)) == (4000, 64)


@pytest.mark.parametrize("kind", ["Send", "Delivery"])
def test_details_or_headers_of_the_wrong_shape_are_read_as_absent(kind):
    message = ses.notification(kind, ["a@x.test"], message_id=MESSAGE_ID, event_publishing=True)
    message[kind.lower()] = "not an object"
    message["mail"]["commonHeaders"] = ["not", "an", "object"]

    if kind == "Delivery":  # its recipients are in the details
        assert rejection(InboundRecord("r1", message)) == f"Delivery notification for {MESSAGE_ID} names no recipients"
        return
    [event] = parse_record(InboundRecord("r1", message))
    assert (event.destination_address, event.subject, event.timestamp) == (
        "a@x.test",
        None,
        datetime(2026, 11, 1, 9, 0, 0, 123000),
    )


def test_the_stored_keys_keep_the_format_earlier_releases_stored():
    """event_key and pair_key are unique keys of rows already stored: a redelivery after an upgrade must find
    them, so their format never changes (SHA-256 of the parts joined by the unit separator)."""
    message = ses.notification("Bounce", [" User1@Example.com"], message_id=MESSAGE_ID)

    [event] = parse_record(InboundRecord("r1", message))

    parts = [MESSAGE_ID, "user1@example.com", "Bounce", "2026-11-01T09:00:02.123000"]
    assert event.event_key == hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    assert event.pair_key == hashlib.sha256("\x1f".join(parts[:2]).encode()).hexdigest()


def test_the_sns_message_id_is_kept_cut_to_its_column():
    [event] = parse_record(InboundRecord("r1", {**ses.sns_envelope(delivery(), message_id="m" * 300)}, via=SNS_SOURCE))

    assert event.aws_sns_message_id == "m" * 255
