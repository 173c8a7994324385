"""The breaker (ses_guard.handlers.disable_sending) must ignore forged alarms.

Turning SES sending off is a denial of service: whoever can get a message to the function must not be
able to trigger it with a hand-made alarm. The genuine alarm (control) does trip it, so every
"ignored" below is meaningful.
"""

from __future__ import annotations

import json
import os

import pytest

from ses_guard import handlers
from ses_guard.parsing import InboundRecord
from tests import ses_samples as ses
from tests.support import moto_ses, pipeline

moto_ses.apply()

ACCOUNT = ses.ACCOUNT
BREAKER_ALARM = "app-email-not-registered-critical"


@pytest.fixture
def breaker(monkeypatch, engine, moto_clients):
    clients = dict(moto_clients)
    topic = clients["sns"].create_topic(Name="app-ses-critical")["TopicArn"]
    clients["cloudwatch"].put_metric_alarm(
        AlarmName=BREAKER_ALARM,
        AlarmActions=[topic],
        MetricName="EmailNotRegisteredCount",
        Namespace="SESGuard",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    monkeypatch.setenv("CRITICAL_TOPIC_ARN", topic)
    monkeypatch.setenv("BREAKER_ALARM_NAMES", json.dumps([BREAKER_ALARM]))
    clients["topic"] = topic
    # The guard's own evidence is there: only the notification under test decides.
    leak = ses.notification("Delivery", [f"victim{n}@elsewhere.test" for n in range(10)], source_ip=ses.ATTACKER_IP)
    pipeline.process([InboundRecord("leak", leak)], engine, os.environ)
    return clients


def alarm_message(**overrides) -> dict:
    message = {
        "AlarmName": BREAKER_ALARM,
        "AlarmDescription": "mail to addresses that are not users",
        "AWSAccountId": ACCOUNT,
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 1 datapoint [250.0] was greater than or equal to the threshold (10.0).",
        "StateChangeTime": "2026-11-20T03:20:00.000+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{BREAKER_ALARM}",
    }
    message.update(overrides)
    return message


def sns_event(message, topic_arn) -> dict:
    event = ses.sns_event([message if isinstance(message, str) else json.dumps(message)])
    if topic_arn is not None:
        event["Records"][0]["Sns"]["TopicArn"] = topic_arn
    else:
        del event["Records"][0]["Sns"]["TopicArn"]
    return event


def sending_enabled(breaker) -> bool:
    return breaker["ses"].get_account_sending_enabled()["Enabled"]


def test_control_the_genuine_alarm_trips_the_breaker(breaker, lambda_context):
    breaker["cloudwatch"].set_alarm_state(AlarmName=BREAKER_ALARM, StateValue="ALARM", StateReason="threshold")

    result = handlers.disable_sending(sns_event(alarm_message(), breaker["topic"]), lambda_context)

    assert result["acted_on"] == [BREAKER_ALARM]
    assert sending_enabled(breaker) is False


FORGERIES = {
    "look-alike-name-trailing-space": lambda topic: (alarm_message(AlarmName=BREAKER_ALARM + " "), topic),
    "look-alike-name-upper-case": lambda topic: (alarm_message(AlarmName=BREAKER_ALARM.upper()), topic),
    "look-alike-name-cyrillic-e": lambda topic: (alarm_message(AlarmName=BREAKER_ALARM.replace("e", "\u0435")), topic),
    "state-lower-case": lambda topic: (alarm_message(NewStateValue="alarm"), topic),
    "state-padded": lambda topic: (alarm_message(NewStateValue=" ALARM"), topic),
    "account-as-number": lambda topic: (alarm_message(AWSAccountId=int(ACCOUNT)), topic),
    "account-padded": lambda topic: (alarm_message(AWSAccountId=f" {ACCOUNT}"), topic),
    "topic-look-alike": lambda topic: (alarm_message(), topic + "-public"),
    "topic-in-another-account": lambda topic: (alarm_message(), topic.replace(ACCOUNT, "999999999999")),
    "topic-missing": lambda topic: (alarm_message(), None),
    # Issue 11: a genuine transition names this account's and region's allowlisted alarm in its AlarmArn.
    "alarm-arn-missing": lambda topic: (
        {k: v for k, v in alarm_message().items() if k != "AlarmArn"},
        topic,
    ),
    "alarm-arn-other-account": lambda topic: (
        alarm_message(AlarmArn=f"arn:aws:cloudwatch:us-east-1:999999999999:alarm:{BREAKER_ALARM}"),
        topic,
    ),
    "alarm-arn-other-region": lambda topic: (
        alarm_message(AlarmArn=f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:{BREAKER_ALARM}"),
        topic,
    ),
    "alarm-arn-other-alarm": lambda topic: (
        alarm_message(AlarmArn=f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:someone-elses-alarm"),
        topic,
    ),
    "alarm-arn-other-partition": lambda topic: (
        alarm_message(AlarmArn=f"arn:aws-cn:cloudwatch:us-east-1:{ACCOUNT}:alarm:{BREAKER_ALARM}"),
        topic,
    ),
    "already-in-alarm": lambda topic: (alarm_message(OldStateValue="ALARM"), topic),
    "old-state-missing": lambda topic: ({k: v for k, v in alarm_message().items() if k != "OldStateValue"}, topic),
    "alarm-wrapped-in-an-sns-envelope": lambda topic: (ses.sns_envelope(alarm_message()), topic),
    "alarm-as-a-list": lambda topic: ([alarm_message()], topic),
    "fields-nested-under-Message": lambda topic: ({"Message": alarm_message()}, topic),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_alarm_notifications_are_ignored(breaker, lambda_context, forge):
    # Even while the real alarm is in ALARM: only the genuine notification may act.
    breaker["cloudwatch"].set_alarm_state(AlarmName=BREAKER_ALARM, StateValue="ALARM", StateReason="threshold")
    message, topic = forge(breaker["topic"])

    result = handlers.disable_sending(sns_event(message, topic), lambda_context)

    assert result["acted_on"] == []
    assert sending_enabled(breaker) is True


@pytest.mark.parametrize("real_state", ["OK", "INSUFFICIENT_DATA", "no such alarm"])
def test_a_well_formed_alarm_that_cloudwatch_does_not_confirm_is_ignored(breaker, lambda_context, real_state):
    """Someone who may publish to the critical topic sends a perfect copy of the alarm notification.

    CloudWatch, the only authority on the alarm's state, says it is not in ALARM (or does not exist):
    the breaker must check (DescribeAlarms) before turning sending off.
    """
    if real_state == "no such alarm":
        breaker["cloudwatch"].delete_alarms(AlarmNames=[BREAKER_ALARM])
    else:
        breaker["cloudwatch"].set_alarm_state(AlarmName=BREAKER_ALARM, StateValue=real_state, StateReason="fine")

    result = handlers.disable_sending(sns_event(alarm_message(), breaker["topic"]), lambda_context)

    assert result["acted_on"] == []
    assert sending_enabled(breaker) is True
