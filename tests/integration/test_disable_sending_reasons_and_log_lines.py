# ruff: noqa: F811 (the account fixture is imported from test_automation, then requested by name)
"""Why the breaker did nothing, in the words the on-call reads in the function's result and its log, and the
log line of each thing it did or could not do (issue 17)."""

from __future__ import annotations

import json
import logging
import os

import pytest
from sqlalchemy import event as sa_event

from ses_guard import handlers
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.integration.test_automation import (  # noqa: F401 (fixture)
    BREAKER_ALARM,
    CRITICAL_TOPIC,
    account,
    alarm_event,
    audit_entries,
    database_down,
    leak_scenario_logged,
    logged,
)

pytestmark = both_databases

OTHER_TOPIC = "arn:aws:sns:us-east-1:123456789012:anyone-can-publish"


def alarm_message(**changes):
    message = json.loads(alarm_event()["Records"][0]["Sns"]["Message"])
    message.update(changes)
    return json.dumps(message)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (alarm_event(topic=OTHER_TOPIC), f"message came from {OTHER_TOPIC!r}, not the critical alert topic"),
        (alarm_event(raw="{not json"), "message is not JSON"),
        (alarm_event(raw="[1, 2]"), "message is not a JSON object"),
        (
            alarm_event(raw=json.dumps({"AlarmName": BREAKER_ALARM, "NewStateValue": "ALARM"})),
            "not a CloudWatch alarm notification "
            "(no AlarmArn, AWSAccountId, OldStateValue, NewStateReason, StateChangeTime)",
        ),
    ],
    ids=["other-topic", "not-json", "not-an-object", "partial-alarm"],
)
def test_a_message_that_is_no_alarm_notification_is_ignored_with_its_reason(
    account, engine, lambda_context, caplog, event, reason
):
    result = handlers.disable_sending(event, lambda_context)

    assert result["ignored"] == [reason]
    [line] = logged(caplog, "breaker ignored a message")
    assert (line.levelno, line.reason) == (logging.WARNING, reason)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            alarm_message(AlarmName="someone-elses-alarm"),
            "alarm 'someone-elses-alarm' is not in the breaker's allowlist",
        ),
        (
            alarm_message(AWSAccountId="999999999999"),
            "alarm comes from account '999999999999', not 123456789012",
        ),
        (
            alarm_message(AlarmArn=f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{BREAKER_ALARM}"),
            f"AlarmArn 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{BREAKER_ALARM}' is not "
            f"'arn:aws:cloudwatch:us-east-1:123456789012:alarm:{BREAKER_ALARM}'",
        ),
        (alarm_message(NewStateValue="OK"), "alarm state is 'OK', not ALARM"),
        (alarm_message(OldStateValue="ALARM"), "alarm was already in ALARM (OldStateValue): not a transition"),
    ],
    ids=["other-alarm", "other-account", "other-region", "ok-state", "no-transition"],
)
def test_an_alarm_that_is_not_the_breakers_transition_is_ignored_with_its_reason(
    account, engine, lambda_context, caplog, message, reason
):
    result = handlers.disable_sending(ses.sns_event([message], topic_arn=CRITICAL_TOPIC), lambda_context)

    assert result["ignored"] == [reason]
    [line] = logged(caplog, "breaker ignored an alarm")
    assert (line.levelno, line.alarm, line.reason) == (logging.INFO, json.loads(message)["AlarmName"], reason)
    assert account["ses"].get_account_sending_enabled()["Enabled"] is True


def test_an_alarm_cloudwatch_does_not_confirm_is_ignored_with_its_reason(account, engine, lambda_context, caplog):
    account["cloudwatch"].set_alarm_state(AlarmName=BREAKER_ALARM, StateValue="OK", StateReason="test")
    assert handlers.disable_sending(alarm_event(), lambda_context)["ignored"] == [
        f"CloudWatch says {BREAKER_ALARM!r} is OK, not ALARM"
    ]

    account["cloudwatch"].delete_alarms(AlarmNames=[BREAKER_ALARM])
    assert handlers.disable_sending(alarm_event(), lambda_context)["ignored"] == [
        f"CloudWatch has no alarm {BREAKER_ALARM!r}"
    ]
    assert [line.reason for line in logged(caplog, "breaker ignored an alarm")] == [
        f"CloudWatch says {BREAKER_ALARM!r} is OK, not ALARM",
        f"CloudWatch has no alarm {BREAKER_ALARM!r}",
    ]


def test_an_event_that_is_not_from_sns_is_ignored_with_its_reason(account, engine, lambda_context, caplog):
    result = handlers.disable_sending({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda_context)

    assert result["ignored"] == ["not an SNS event"]
    [line] = logged(caplog, "breaker ignored an event")
    assert (line.levelno, line.reason) == (logging.WARNING, "not an SNS event")


def test_a_trip_and_a_refusal_are_each_one_log_line_with_their_facts(account, engine, lambda_context, caplog):
    leak_scenario_logged(engine)
    handlers.disable_sending(alarm_event(), lambda_context)

    [disabled] = logged(caplog, "SES sending disabled")
    assert (disabled.levelno, disabled.alarm, disabled.targets) == (
        logging.WARNING,
        BREAKER_ALARM,
        ["the whole account"],
    )
    assert [tuple(row) for row in disabled.top_source_ips] == [("198.51.100.66", 10), ("203.0.113.10", 1)]

    with database_down(engine):
        [refusal] = handlers.disable_sending(alarm_event(), lambda_context)["refused"]
    [refused] = logged(caplog, "breaker refused to disable sending")
    assert (refused.levelno, refused.alarm, refused.reason) == (logging.ERROR, BREAKER_ALARM, refusal)
    [unread] = logged(caplog, "breaker could not read the evidence")
    assert unread.levelno == logging.ERROR
    assert unread.reason.endswith("OperationalError) database is down")


def test_a_failed_announcement_is_one_log_line_naming_the_topic(account, engine, lambda_context, caplog):
    leak_scenario_logged(engine)
    account["sns"].delete_topic(TopicArn=os.environ["CRITICAL_TOPIC_ARN"])

    with pytest.raises(Exception, match="NotFound"):
        handlers.disable_sending(alarm_event(), lambda_context)

    [line] = logged(caplog, "breaker could not announce on the critical topic")
    assert (line.levelno, line.topic_arn, line.targets) == (
        logging.ERROR,
        os.environ["CRITICAL_TOPIC_ARN"],
        ["the whole account"],
    )
    assert "NotFound" in line.reason


def test_an_overlong_alarm_text_is_cut_with_a_log_line_saying_how_much(account, engine, lambda_context, caplog):
    leak_scenario_logged(engine)
    message = alarm_message(NewStateReason="x" * 5000, StateChangeTime="2026-11-20T03:20:00.000+0000" + "0" * 100)

    handlers.disable_sending(ses.sns_event([message], topic_arn=CRITICAL_TOPIC), lambda_context)

    cuts = logged(caplog, "alarm text cut to CloudWatch's limit")
    assert [(line.levelno, line.field, line.length, line.kept) for line in cuts] == [
        (logging.WARNING, "NewStateReason", 5000, 1023),  # CloudWatch's own limits
        (logging.WARNING, "StateChangeTime", 128, 64),
    ]


def test_an_alarm_text_of_exactly_cloudwatchs_limit_is_kept_whole_without_a_cut_line(
    account, engine, lambda_context, caplog
):
    leak_scenario_logged(engine)
    message = alarm_message(NewStateReason="x" * 1023)

    handlers.disable_sending(ses.sns_event([message], topic_arn=CRITICAL_TOPIC), lambda_context)

    assert logged(caplog, "alarm text cut to CloudWatch's limit") == []


def test_an_unrecorded_trip_is_counted_by_service_in_the_namespace_the_alarms_watch(
    account, engine, lambda_context, capsys
):
    leak_scenario_logged(engine)
    capsys.readouterr()

    def refuse_audit_rows(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO automation_audit_log"):
            raise engine.dialect.loaded_dbapi.OperationalError("disk full")

    sa_event.listen(engine, "before_cursor_execute", refuse_audit_rows)
    try:
        handlers.disable_sending(alarm_event(), lambda_context)
    finally:
        sa_event.remove(engine, "before_cursor_execute", refuse_audit_rows)

    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [document] = [d for d in documents if "BreakerAuditFailures" in d]
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert (directive["Namespace"], directive["Dimensions"], directive["Metrics"]) == (
        "SESGuard",
        [["service"]],
        [{"Name": "BreakerAuditFailures", "Unit": "Count"}],
    )
    assert (document["service"], document["BreakerAuditFailures"]) == ("ses-guard", [1.0])


@pytest.mark.parametrize(
    ("field", "kept", "reason"),
    [
        ("AlarmName", 256, "alarm {!r} is not in the breaker's allowlist"),
        ("AWSAccountId", 64, "alarm comes from account {!r}, not 123456789012"),
        ("NewStateValue", 64, "alarm state is {!r}, not ALARM"),
    ],
)
def test_a_forged_overlong_value_is_quoted_cut_in_the_reason(account, engine, lambda_context, field, kept, reason):
    value = "9" * 2000
    message = alarm_message(**{field: value})

    result = handlers.disable_sending(ses.sns_event([message], topic_arn=CRITICAL_TOPIC), lambda_context)

    assert result["ignored"] == [reason.format(value[:kept])]


def test_a_forged_overlong_alarm_arn_is_quoted_cut_in_the_reason(account, engine, lambda_context):
    arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{BREAKER_ALARM}" + "x" * 2000

    result = handlers.disable_sending(
        ses.sns_event([alarm_message(AlarmArn=arn)], topic_arn=CRITICAL_TOPIC), lambda_context
    )

    assert result["ignored"] == [
        f"AlarmArn {arn[:512]!r} is not 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:{BREAKER_ALARM}'"
    ]


def test_without_a_critical_topic_the_breaker_still_acts_and_records(account, engine, lambda_context, monkeypatch):
    monkeypatch.delenv("CRITICAL_TOPIC_ARN")
    leak_scenario_logged(engine)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    assert result["acted_on"] == [BREAKER_ALARM]
    assert account["ses"].get_account_sending_enabled()["Enabled"] is False
    assert account["critical"].read() == []
    assert [(entry["action"], entry["target"]) for entry in audit_entries(engine)] == [("sending_disabled", "account")]
