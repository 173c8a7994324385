"""Only SES of this account, through the events topic, reaches the guard's tables (issue 12).

A principal of the same account whose own IAM policy allows sqs:SendMessage or sns:Publish on "*" can put a
message in front of the processor. The topic and queue policies deny it in AWS; these tests show the
processor drops what did not come that way in any case: never stored, never counted in
EmailNotRegisteredCount, never retried (no batch item failure), each with a log line.
"""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import func, select

from ses_guard import handlers, schema
from ses_guard.parsing import InboundRecord
from tests import ses_samples as ses
from tests.conftest import both_databases, emitted_metrics
from tests.support import pipeline

pytestmark = both_databases

EVENTS_TOPIC = f"arn:aws:sns:us-east-1:{ses.ACCOUNT}:ses-guard-events"
FOREIGN_ACCOUNT = "999999999999"


def mail_to_unregistered(count: int = 10, account: str = ses.ACCOUNT) -> dict:
    """The forger's payload: one mail to `count` made-up recipients, the default critical threshold."""
    message = ses.notification("Delivery", [f"victim{n}@elsewhere.test" for n in range(count)])
    message["mail"]["sendingAccountId"] = account
    return message


def genuine() -> dict:
    return ses.sns_envelope(ses.notification("Delivery", ["user1@example.com"]), topic_arn=EVENTS_TOPIC)


def stored(engine) -> dict:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (schema.user_email_log, schema.unvalidated_email_log, schema.unregistered_recipient)
        }


def dropped_lines(log) -> list:
    return [
        line
        for line in map(json.loads, log.getvalue().splitlines())
        if line["message"] == "record dropped: not from SES of this account through the events topic"
    ]


NOTHING_BUT_THE_GENUINE_ONE = {"user_email_log": 1, "unvalidated_email_log": 0, "unregistered_recipient": 0}

SQS_FORGERIES = {
    "raw-body-without-sns-envelope": (lambda: mail_to_unregistered(), "not an SNS notification"),
    "envelope-from-another-topic": (
        lambda: ses.sns_envelope(mail_to_unregistered(), topic_arn=EVENTS_TOPIC + "-mine"),
        "is not the events topic",
    ),
    "envelope-without-topic": (
        lambda: {key: value for key, value in ses.sns_envelope(mail_to_unregistered()).items() if key != "TopicArn"},
        "no SNS topic named",
    ),
    "foreign-sending-account": (
        lambda: ses.sns_envelope(mail_to_unregistered(account=FOREIGN_ACCOUNT), topic_arn=EVENTS_TOPIC),
        f"mail.sendingAccountId is '{FOREIGN_ACCOUNT}', not {ses.ACCOUNT}",
    ),
    "no-sending-account": (
        lambda: ses.sns_envelope(mail_to_unregistered(account=None), topic_arn=EVENTS_TOPIC),
        f"mail.sendingAccountId is None, not {ses.ACCOUNT}",
    ),
}


@pytest.fixture
def events_topic(monkeypatch):
    monkeypatch.setenv("EVENTS_TOPIC_ARN", EVENTS_TOPIC)
    yield EVENTS_TOPIC


@pytest.mark.parametrize("forge", [f for f, _ in SQS_FORGERIES.values()], ids=SQS_FORGERIES.keys())
def test_a_forged_sqs_message_is_dropped_not_stored_not_counted_not_retried(
    engine, events_topic, lambda_context, capsys, structured_log, forge
):
    reason = dict(SQS_FORGERIES.values())[forge]
    event = ses.sqs_event([genuine(), forge()])

    response = handlers.process_events(event, lambda_context)

    assert response == {"batchItemFailures": []}  # a retry would not make it genuine
    assert stored(engine) == NOTHING_BUT_THE_GENUINE_ONE
    assert emitted_metrics(capsys.readouterr().out) == {"EmailNotRegisteredCount": 0, "ForeignRecordsDropped": 1}
    [line] = dropped_lines(structured_log)
    assert line["record_id"] == event["Records"][1]["messageId"]
    assert reason in line["reason"]


def test_without_the_topic_setting_an_envelope_must_name_a_topic_of_this_account(engine, lambda_context, capsys):
    foreign_topic = EVENTS_TOPIC.replace(ses.ACCOUNT, FOREIGN_ACCOUNT)
    event = ses.sqs_event([genuine(), ses.sns_envelope(mail_to_unregistered(), topic_arn=foreign_topic)])

    assert handlers.process_events(event, lambda_context) == {"batchItemFailures": []}

    assert stored(engine) == NOTHING_BUT_THE_GENUINE_ONE
    assert emitted_metrics(capsys.readouterr().out)["EmailNotRegisteredCount"] == 0


def test_an_sns_trigger_from_another_topic_is_dropped(engine, events_topic, lambda_context):
    forged = ses.sns_event([mail_to_unregistered()], topic_arn=EVENTS_TOPIC + "-mine")

    assert handlers.process_events(forged, lambda_context) == {"recipient_events": 0}
    assert handlers.process_events(
        ses.sns_event([mail_to_unregistered(1)], topic_arn=EVENTS_TOPIC), lambda_context
    ) == {"recipient_events": 1}
    assert stored(engine)["unregistered_recipient"] == 1


def test_the_account_is_the_functions_own(engine, lambda_context):
    """The same message is genuine for the function of its account, foreign for a function of another."""
    message = ses.sns_envelope(mail_to_unregistered(3))
    lambda_context.invoked_function_arn = lambda_context.invoked_function_arn.replace(ses.ACCOUNT, FOREIGN_ACCOUNT)
    handlers.process_events(ses.sqs_event([message]), lambda_context)
    assert stored(engine)["unregistered_recipient"] == 0

    lambda_context.invoked_function_arn = lambda_context.invoked_function_arn.replace(FOREIGN_ACCOUNT, ses.ACCOUNT)
    handlers.process_events(ses.sqs_event([message]), lambda_context)
    assert stored(engine)["unregistered_recipient"] == 3


def test_a_forged_message_sent_to_the_queue_with_same_account_credentials_is_dropped(
    engine, events_topic, moto_clients, lambda_context, capsys
):
    """Through the emulator's real SNS and SQS: the genuine notification is published to the events topic
    (SES's path), the forgery is sent straight to the queue with the account's own credentials. moto does not
    evaluate the queue policy (in AWS its Deny refuses the send); the processor drops it in any case."""
    sns, sqs = moto_clients["sns"], moto_clients["sqs"]
    topic = sns.create_topic(Name="ses-guard-events")["TopicArn"]
    assert topic == events_topic
    queue_url = sqs.create_queue(QueueName="ses-guard-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(TopicArn=topic, Message=json.dumps(ses.notification("Delivery", ["user1@example.com"])))
    for forged in (
        mail_to_unregistered(),
        mail_to_unregistered(account=FOREIGN_ACCOUNT),
        ses.sns_envelope(mail_to_unregistered(), topic_arn=topic + "x"),
    ):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(forged))
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert len(messages) == 4
    event = {
        "Records": [
            {
                "messageId": message["MessageId"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
            }
            for message in messages
        ]
    }

    assert handlers.process_events(event, lambda_context) == {"batchItemFailures": []}

    assert stored(engine) == NOTHING_BUT_THE_GENUINE_ONE
    assert emitted_metrics(capsys.readouterr().out) == {"EmailNotRegisteredCount": 0, "ForeignRecordsDropped": 3}


def test_the_cli_checks_the_account_when_told_it(engine, monkeypatch):
    """`ses-guard replay` runs outside Lambda: SENDING_ACCOUNT_ID names the account; without it none is checked."""
    records = [
        InboundRecord("1", mail_to_unregistered(2, account=FOREIGN_ACCOUNT)),
        InboundRecord("2", mail_to_unregistered(3)),
    ]
    monkeypatch.setenv("SENDING_ACCOUNT_ID", ses.ACCOUNT)

    outcome = pipeline.process(records, engine, os.environ)

    assert (outcome.dropped, outcome.stored.new_unregistered_pairs) == (1, 3)
    monkeypatch.delenv("SENDING_ACCOUNT_ID")
    assert pipeline.process(records, engine, os.environ).stored.new_unregistered_pairs == 2


def test_a_mixed_event_is_answered_as_its_trigger_and_the_odd_record_dropped(engine, events_topic, lambda_context):
    """A record shaped for the other trigger (a forgery: Lambda never mixes them) is foreign; the reply stays the
    trigger's own: batchItemFailures for SQS, a plain answer (no raise) for SNS."""
    sqs = ses.sqs_event([genuine()])
    sqs["Records"] += ses.sns_event([mail_to_unregistered()], topic_arn=EVENTS_TOPIC)["Records"]
    assert handlers.process_events(sqs, lambda_context) == {"batchItemFailures": []}

    sns = ses.sns_event([ses.notification("Delivery", ["user2@example.com"])], topic_arn=EVENTS_TOPIC)
    sns["Records"] += ses.sqs_event([ses.sns_envelope(mail_to_unregistered(), topic_arn=EVENTS_TOPIC)])["Records"]
    assert handlers.process_events(sns, lambda_context) == {"recipient_events": 1}

    assert stored(engine) == {"user_email_log": 2, "unvalidated_email_log": 0, "unregistered_recipient": 0}
