# ruff: noqa: F811 (the account fixture is imported from test_automation, then requested by name)
"""The breaker acts on the guard's own records, not on a metric anyone in the account could write (issue 12),
and a genuine trip ends once, whatever the texts or the audit table do (issue 11)."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select, update

from ses_guard import audit, disable_sending, handlers, lambda_events, schema
from ses_guard import settings as config
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Home
from tests import ses_samples as ses
from tests.conftest import both_databases, emitted_metrics
from tests.integration.test_automation import (  # noqa: F401 (fixture)
    BREAKER_ALARM,
    CRITICAL_ALARM,
    CRITICAL_TOPIC,
    account,
    alarm_event,
    audit_entries,
    leak_scenario_logged,
    logged,
)
from tests.support import pipeline

pytestmark = both_databases

REFUSED_SUBJECT = "CRITICAL: ses-guard refused to disable SES sending"
DISABLED_SUBJECT = "CRITICAL: SES sending disabled by ses-guard"


def log_unregistered(engine, count, *, account_id=ses.ACCOUNT, events=("Delivery",), prefix="victim"):
    """`count` unregistered (message, recipient) pairs, each brought by every kind of `events`."""
    records = []
    for n in range(count):
        message_id = f"0100018leak{prefix}{n:04d}-000000"
        for kind in events:
            message = ses.notification(kind, [f"{prefix}{n}@elsewhere.test"], message_id=message_id)
            message["mail"]["sendingAccountId"] = account_id
            records.append(InboundRecord(f"{prefix}-{n}-{kind}", message))
    # No source check here: these rows stand for whatever reached the tables.
    pipeline.process(records, engine)


def recorded_minutes_ago(engine, minutes):
    """Move every log row's created_at back, by the database's own clock (which wrote it)."""
    log = schema.unvalidated_email_log
    with engine.begin() as connection:
        now = connection.execute(select(func.current_timestamp())).scalar_one()
        connection.execute(update(log).values(created_at=now - timedelta(minutes=minutes)))


def set_breaker_alarm(cloudwatch, period=300, evaluation_periods=1, metric="EmailNotRegisteredCount"):
    cloudwatch.put_metric_alarm(
        AlarmName=BREAKER_ALARM,
        MetricName=metric,
        Namespace="SESGuard",
        Statistic="Sum",
        Period=period,
        EvaluationPeriods=evaluation_periods,
        Threshold=10,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=BREAKER_ALARM, StateValue="ALARM", StateReason="test")


def sending_enabled(account):
    return account["ses"].get_account_sending_enabled()["Enabled"]


def assert_refusal_audited(engine, refusal):
    """A refusal leaves one audit row: for the account, with no before or after value, naming the alarm and why."""
    [entry] = audit_entries(engine)
    assert (entry["action"], entry["target"], entry["before_value"], entry["after_value"]) == (
        "sending_disable_refused",
        "account",
        None,
        None,
    )
    assert entry["reason"] == f"{BREAKER_ALARM} in ALARM, refused: {refusal}"


def test_a_forged_metric_without_the_guards_records_is_refused_and_announced(account, engine, lambda_context):
    """Someone wrote EmailNotRegisteredCount (or set the alarm's state): CloudWatch confirms the ALARM, but
    the guard recorded only 9 unregistered pairs, below the alarm's threshold of 10."""
    log_unregistered(engine, 9)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    refusal = (
        "the guard's database holds 9 unregistered (message, recipient) pair(s) from account 123456789012 "
        "recorded in the last 10 min, below the alarm's threshold of 10"
    )
    assert (result["acted_on"], result["refused"]) == ([], [refusal])
    assert sending_enabled(account) is True
    [notice] = account["critical"].read()
    assert notice["Subject"] == REFUSED_SUBJECT
    assert f"Refused: {refusal}.\n" in notice["Message"]
    assert "PutMetricData, SetAlarmState or PutMetricAlarm" in notice["Message"]
    assert "aws ses update-account-sending-enabled --no-enabled" in notice["Message"]
    assert_refusal_audited(engine, refusal)


def test_the_threshold_of_pairs_trips_the_breaker(account, engine, lambda_context):
    log_unregistered(engine, 10)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    assert (result["acted_on"], result["refused"]) == ([BREAKER_ALARM], [])
    assert sending_enabled(account) is False


def test_pairs_from_another_account_are_no_evidence(account, engine, lambda_context):
    log_unregistered(engine, 10, account_id="999999999999")
    log_unregistered(engine, 2, prefix="ours")

    result = handlers.disable_sending(alarm_event(), lambda_context)

    [refusal] = result["refused"]
    assert "holds 2 unregistered" in refusal
    assert sending_enabled(account) is True


def test_each_pair_counts_once_whatever_events_bring_it(account, engine, lambda_context):
    log_unregistered(engine, 5, events=("Send", "Delivery", "Bounce"))  # 15 rows, 5 pairs

    [refusal] = handlers.disable_sending(alarm_event(), lambda_context)["refused"]

    assert "holds 5 unregistered" in refusal


@pytest.mark.parametrize(
    ("period", "evaluation_periods", "minutes_ago", "acts"),
    [
        (300, 1, 9, True),  # window: one period more than evaluated, 10 min
        (300, 1, 11, False),
        (300, 3, 19, True),  # 20 min
        (300, 3, 21, False),
        (60, 1, 3, False),  # 2 min
    ],
)
def test_the_evidence_window_is_the_alarms(
    account, engine, lambda_context, period, evaluation_periods, minutes_ago, acts
):
    set_breaker_alarm(account["cloudwatch"], period=period, evaluation_periods=evaluation_periods)
    log_unregistered(engine, 10)
    recorded_minutes_ago(engine, minutes_ago)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    assert bool(result["acted_on"]) is acts
    assert sending_enabled(account) is not acts


def test_an_alarm_on_another_custom_metric_is_refused(account, engine, lambda_context):
    set_breaker_alarm(account["cloudwatch"], metric="SomethingElse")
    leak_scenario_logged(engine)  # 11 mails to unregistered recipients within the hour, 10 from the attacker

    [refusal] = handlers.disable_sending(alarm_event(), lambda_context)["refused"]

    assert refusal.startswith("the alarm watches 'SomethingElse' in 'SESGuard', a metric the guard cannot check")
    assert sending_enabled(account) is True
    # The refusal still tells the on-call what the guard's records show.
    [notice] = account["critical"].read()
    assert "Mail to addresses that are not users in the last 24 h: 11\n" in notice["Message"]
    assert f"Top source IPs:\n  {ses.ATTACKER_IP}: 10\n" in notice["Message"]


def test_an_alarm_on_a_metric_only_aws_writes_needs_no_records(account, engine, lambda_context, monkeypatch):
    """The send-count alarm watches AWS/SES Send, which no principal can write: CloudWatch's word is enough."""
    monkeypatch.setenv("BREAKER_ALARM_NAMES", json.dumps([CRITICAL_ALARM]))
    account["cloudwatch"].set_alarm_state(AlarmName=CRITICAL_ALARM, StateValue="ALARM", StateReason="test")

    result = handlers.disable_sending(alarm_event(name=CRITICAL_ALARM), lambda_context)

    assert result["acted_on"] == [CRITICAL_ALARM]
    assert sending_enabled(account) is False


def test_a_250_kb_reason_is_cut_before_it_is_announced_or_recorded(account, engine, lambda_context):
    leak_scenario_logged(engine)
    message = json.loads(alarm_event()["Records"][0]["Sns"]["Message"])
    message["NewStateReason"] = "Threshold Crossed: " + "x" * 250_000
    event = ses.sns_event([json.dumps(message)], topic_arn=os.environ["CRITICAL_TOPIC_ARN"])

    result = handlers.disable_sending(event, lambda_context)  # must not raise: Lambda would retry and re-announce

    assert result["acted_on"] == [BREAKER_ALARM]
    [notice] = account["critical"].read()
    cut = message["NewStateReason"][: disable_sending.MAX_REASON]
    assert f"Reason: {cut}\n\n" in notice["Message"]
    assert len(notice["Message"].encode()) < 256 * 1024
    [entry] = audit_entries(engine)
    assert entry["reason"] == f"{BREAKER_ALARM} in ALARM: {cut}"


def test_an_audit_failure_after_disabling_ends_the_invocation_once(account, engine, lambda_context, caplog, capsys):
    """Sending is off and the on-call was told: a retry would only announce again. The failure is one log line
    naming the cause, and the metric BreakerAuditFailures for an alarm."""
    leak_scenario_logged(engine)

    def refuse_audit_rows(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO automation_audit_log"):
            raise engine.dialect.loaded_dbapi.OperationalError("disk full")

    sa_event.listen(engine, "before_cursor_execute", refuse_audit_rows)
    try:
        result = handlers.disable_sending(alarm_event(), lambda_context)
    finally:
        sa_event.remove(engine, "before_cursor_execute", refuse_audit_rows)

    assert result["acted_on"] == [BREAKER_ALARM]
    assert sending_enabled(account) is False
    assert [n["Subject"] for n in account["critical"].read()] == [DISABLED_SUBJECT]
    [line] = logged(caplog, "breaker could not record the audit row")
    assert line.reason.endswith("disk full") and line.targets == ["account"]
    assert emitted_metrics(capsys.readouterr().out) == {disable_sending.AUDIT_FAILURE_METRIC: 1}
    assert audit_entries(engine) == []


def test_the_alert_ranks_the_last_24_hours_top_five_senders(account, engine, lambda_context):
    """What the on-call acts on: the time filter, the order and the limit of the alert's evidence."""
    now = audit.utcnow()
    records = []
    # The busiest senders have the highest addresses and names: ranked by sends, not by value.
    for rank, sends in enumerate((1, 2, 3, 4, 5, 6, 7)):
        for n in range(sends):
            message = ses.notification(
                "Delivery", [f"r{rank}-{n}@elsewhere.test"], source_ip=f"198.51.100.{rank}", sent=now
            )
            message["mail"]["callerIdentity"] = f"caller-{rank}"
            records.append(InboundRecord(f"{rank}-{n}", message))
    stale = now - timedelta(hours=25)  # the busiest sender, but yesterday's news
    for n in range(50):
        message = ses.notification("Delivery", [f"old{n}@elsewhere.test"], source_ip="192.0.2.99", sent=stale)
        records.append(InboundRecord(f"old-{n}", message))
    pipeline.process(records, engine, os.environ)

    handlers.disable_sending(alarm_event(), lambda_context)

    [notice] = account["critical"].read()
    assert notice["Subject"] == DISABLED_SUBJECT
    assert "Mail to addresses that are not users in the last 24 h: 28\n" in notice["Message"]
    top_five = ((6, 7), (5, 6), (4, 5), (3, 4), (2, 3))
    ips = "".join(f"  198.51.100.{rank}: {sends}\n" for rank, sends in top_five)
    callers = "".join(f"  caller-{rank}: {sends}\n" for rank, sends in top_five)
    assert f"Top source IPs:\n{ips}Top caller identities:\n{callers}\n" in notice["Message"]


def test_a_slow_ranking_of_senders_does_not_hold_back_a_decided_trip(account, engine):
    """A large leak: the pairs are counted in time, the 24-hour ranking of senders is not. The breaker acts on
    the count within its bound and says the ranking is missing."""
    leak_scenario_logged(engine)
    release = threading.Event()

    def slow_ranking(conn, cursor, statement, parameters, context, executemany):
        if "GROUP BY" in statement:
            release.wait(10)

    clients = {name: account[name] for name in ("ses", "sns", "cloudwatch")}
    sa_event.listen(engine, "before_cursor_execute", slow_ranking)
    started = time.monotonic()
    try:
        outcome = disable_sending.handle(
            lambda_events.sns_messages(alarm_event()),
            config.disable_sending_settings(os.environ),
            Home("aws", "us-east-1", ses.ACCOUNT),
            clients,
            engine,
            evidence_timeout=timedelta(seconds=1),
        )
        elapsed = time.monotonic() - started
    finally:
        release.set()
        sa_event.remove(engine, "before_cursor_execute", slow_ranking)

    assert outcome.acted_on == [BREAKER_ALARM]
    assert elapsed < 5, f"the breaker took {elapsed:.1f} s"
    assert sending_enabled(account) is False
    [notice] = account["critical"].read()
    assert notice["Subject"] == DISABLED_SUBJECT
    assert (
        "The evidence could not be read from the database: the database did not answer within 1 s"
        in (notice["Message"])
    )


def test_the_alerts_24_hours_end_at_the_alarm_and_start_exactly_a_day_before(engine):
    """The evidence of the alert counts a send made at the very first millisecond of the 24 hours, not one before."""
    now = datetime(2026, 11, 30, 12, 0, 0, 123000)
    first_millisecond = now - disable_sending.EVIDENCE_WINDOW
    records = []
    for label, event_time in (("in", first_millisecond), ("out", first_millisecond - timedelta(milliseconds=1))):
        message = ses.notification(
            "Delivery", [f"{label}@elsewhere.test"], source_ip="198.51.100.1", event_time=event_time
        )
        message["mail"]["callerIdentity"] = "caller"
        records.append(InboundRecord(label, message))
    pipeline.process(records, engine)

    evidence = disable_sending.gather_evidence(engine, now, ses.ACCOUNT, None, disable_sending.Evidence())

    assert (evidence.unregistered_sends, evidence.source_ips, evidence.caller_identities) == (
        1,
        [("198.51.100.1", 1)],
        [("caller", 1)],
    )


def test_senders_with_as_many_sends_are_ranked_by_name(engine):
    """Ties at the fifth place are settled the same way every time: the alert does not change between runs."""
    now = datetime(2026, 11, 30, 12, 0, 0, 123000)
    records = []
    for n in reversed(range(7)):
        message = ses.notification(
            "Delivery", [f"r{n}@elsewhere.test"], source_ip=f"198.51.100.{n}", event_time=now - timedelta(hours=1)
        )
        message["mail"]["callerIdentity"] = f"caller-{n}"
        records.append(InboundRecord(str(n), message))
    pipeline.process(records, engine)

    evidence = disable_sending.gather_evidence(engine, now, ses.ACCOUNT, None, disable_sending.Evidence())

    assert evidence.source_ips == [(f"198.51.100.{n}", 1) for n in range(5)]
    assert evidence.caller_identities == [(f"caller-{n}", 1) for n in range(5)]


def test_messages_the_breaker_ignores_do_not_hold_back_a_genuine_alarm_after_them(account, engine, lambda_context):
    """One SNS event, four messages: a JSON object where SNS sends text, text that is not JSON, an alarm that is
    not the breaker's, then the breaker's genuine alarm. Each is judged on its own, in order."""
    log_unregistered(engine, 10)
    [genuine, someone_elses] = [alarm_event(name)["Records"][0]["Sns"]["Message"] for name in (BREAKER_ALARM, "other")]
    messages = [{"AlarmName": BREAKER_ALARM}, "not json", someone_elses, genuine]

    event = ses.sns_event(messages, topic_arn=CRITICAL_TOPIC)
    event["Records"][0]["Sns"]["Message"] = messages[0]  # as given, not as text

    result = handlers.disable_sending(event, lambda_context)

    assert result["acted_on"] == [BREAKER_ALARM]
    assert result["ignored"] == [
        "not a CloudWatch alarm notification (no AlarmArn, AWSAccountId, OldStateValue, NewStateValue, "
        "NewStateReason, StateChangeTime)",
        "message is not JSON",
        "alarm 'other' is not in the breaker's allowlist",
    ]
    assert sending_enabled(account) is False


def test_a_refused_alarm_does_not_hold_back_the_next_one(account, engine, lambda_context, monkeypatch):
    """Two allowlisted alarms in one event: the first lacks the guard's records and is refused, the second
    (on a metric only AWS writes) is acted on."""
    monkeypatch.setenv("BREAKER_ALARM_NAMES", json.dumps([BREAKER_ALARM, CRITICAL_ALARM]))
    account["cloudwatch"].set_alarm_state(AlarmName=CRITICAL_ALARM, StateValue="ALARM", StateReason="test")
    messages = [alarm_event(name)["Records"][0]["Sns"]["Message"] for name in (BREAKER_ALARM, CRITICAL_ALARM)]

    result = handlers.disable_sending(ses.sns_event(messages, topic_arn=CRITICAL_TOPIC), lambda_context)

    [refusal] = result["refused"]
    assert "holds 0 unregistered" in refusal
    assert result["acted_on"] == [CRITICAL_ALARM]
    assert sending_enabled(account) is False
