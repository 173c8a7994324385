"""Quota sync and the sending breaker against moto (extended for SES account calls), on SQLite and MariaDB."""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from ses_guard import audit, cli, handlers, schema, sync_thresholds
from ses_guard import settings as config
from ses_guard.parsing import InboundRecord
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.support import moto_cloudwatch, moto_ses, pipeline

pytestmark = both_databases
moto_ses.apply()
moto_cloudwatch.apply()

WARNING_ALARM = "app-ses-send-count-warning"
CRITICAL_ALARM = "app-ses-send-count-critical"
BREAKER_ALARM = "app-email-not-registered-critical"


class Announcements:
    """Reads what was published to an SNS topic, through an SQS queue subscribed to it."""

    def __init__(self, sns, sqs, topic_arn):
        self.sqs = sqs
        self.url = sqs.create_queue(QueueName=topic_arn.rsplit(":", 1)[1] + "-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    def read(self):
        messages = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]


@pytest.fixture
def account(monkeypatch, engine, moto_clients):
    clients = dict(moto_clients)
    warning = clients["sns"].create_topic(Name="app-ses-warning")["TopicArn"]
    critical = clients["sns"].create_topic(Name="app-ses-critical")["TopicArn"]
    for name, threshold, topic in ((WARNING_ALARM, 120, warning), (CRITICAL_ALARM, 160, critical)):
        clients["cloudwatch"].put_metric_alarm(
            AlarmName=name,
            AlarmDescription=f"SES sends in 24 h above {name.rsplit('-', 1)[1]} share of quota",
            ActionsEnabled=True,
            AlarmActions=[topic],
            OKActions=[topic],
            MetricName="Send",
            Namespace="AWS/SES",
            Statistic="Sum",
            Period=3600,
            EvaluationPeriods=24,
            DatapointsToAlarm=24,
            Threshold=threshold,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching",
            Unit="Count",
        )
    # The breaker's alarm, already in ALARM: only the notification under test decides.
    clients["cloudwatch"].put_metric_alarm(
        AlarmName=BREAKER_ALARM,
        AlarmActions=[critical],
        MetricName="EmailNotRegisteredCount",
        Namespace="SESGuard",
        Dimensions=[{"Name": "service", "Value": "app"}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    clients["cloudwatch"].set_alarm_state(AlarmName=BREAKER_ALARM, StateValue="ALARM", StateReason="test")
    monkeypatch.setenv("SEND_COUNT_ALARMS", json.dumps({WARNING_ALARM: 60, CRITICAL_ALARM: 80}))
    monkeypatch.setenv("WARNING_TOPIC_ARN", warning)
    monkeypatch.setenv("CRITICAL_TOPIC_ARN", critical)
    monkeypatch.setenv("BREAKER_ALARM_NAMES", json.dumps([BREAKER_ALARM]))
    clients["warning"] = Announcements(clients["sns"], clients["sqs"], warning)
    clients["critical"] = Announcements(clients["sns"], clients["sqs"], critical)
    return clients


def alarms(cloudwatch):
    return {
        a["AlarmName"]: a
        for a in cloudwatch.describe_alarms(AlarmNames=[WARNING_ALARM, CRITICAL_ALARM])["MetricAlarms"]
    }


def audit_entries(engine):
    log = schema.automation_audit_log
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(log).order_by(log.c.audit_id))]


def count_calls(client, operation):
    calls = []
    client.meta.events.register(
        f"before-call.{client.meta.service_model.service_name}.{operation}", lambda **kwargs: calls.append(kwargs)
    )
    return calls


@contextmanager
def database_down(engine):
    """Every statement fails as the driver does when the server is gone, until the block ends."""

    def refuse(conn, cursor, statement, parameters, context, executemany):
        raise OperationalError(statement, parameters, engine.dialect.loaded_dbapi.OperationalError("database is down"))

    sa_event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        sa_event.remove(engine, "before_cursor_execute", refuse)


def logged(caplog, message):
    return [record for record in caplog.records if record.getMessage() == message]


def test_a_quota_increase_raises_both_thresholds_and_keeps_everything_else(
    account, engine, lambda_context, monkeypatch
):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "app-sync-thresholds")
    before = alarms(account["cloudwatch"])
    moto_ses.set_send_quota(50_000)

    result = handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (30_000, 40_000)
    assert [c["alarm_name"] for c in result["changes"]] == [WARNING_ALARM, CRITICAL_ALARM]
    kept = (
        "AlarmDescription",
        "ActionsEnabled",
        "AlarmActions",
        "OKActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "ComparisonOperator",
        "TreatMissingData",
    )
    for name in (WARNING_ALARM, CRITICAL_ALARM):
        assert {k: after[name].get(k) for k in kept} == {k: before[name].get(k) for k in kept}

    [notice] = account["warning"].read()
    assert notice["Subject"] == "SES sending quota increased"
    assert notice["Message"].startswith("SES quota 200 -> 50,000: thresholds 120/160 -> 30,000/40,000")
    entries = audit_entries(engine)
    assert [(e["action"], e["target"], e["before_value"], e["after_value"]) for e in entries] == [
        ("threshold_changed", WARNING_ALARM, "120", "30,000"),
        ("threshold_changed", CRITICAL_ALARM, "160", "40,000"),
    ]
    assert {e["actor"] for e in entries} == {"app-sync-thresholds"}

    # Outside the namespace the guard's own alarms watch (issue 12).
    assert account["cloudwatch"].list_metrics(Namespace="SESGuard", MetricName="SendQuotaUsedPercent")["Metrics"] == []
    metric = account["cloudwatch"].list_metrics(Namespace="SESGuard/Quota", MetricName="SendQuotaUsedPercent")
    assert len(metric["Metrics"]) == 1


def test_no_quota_change_writes_nothing(account, engine, lambda_context):
    writes = count_calls(account["cloudwatch"], "PutMetricAlarm")

    assert handlers.sync_thresholds({}, lambda_context)["changes"] == []

    assert writes == []
    assert account["warning"].read() == []
    assert audit_entries(engine) == []


def test_a_quota_decrease_is_applied_and_announced_as_a_warning(account, engine, lambda_context):
    moto_ses.set_send_quota(100)

    handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (60, 80)
    [notice] = account["warning"].read()
    assert notice["Subject"] == "WARNING: SES sending quota decreased"
    assert "SES quota 200 -> 100: thresholds 120/160 -> 60/80" in notice["Message"]


def test_an_unlimited_quota_changes_no_alarm_and_says_so(account, engine, caplog):
    moto_ses.set_send_quota(-1)  # what SES returns for an unlimited quota
    writes = count_calls(account["cloudwatch"], "PutMetricAlarm")

    report = sync_thresholds.sync(
        config.sync_thresholds_settings(os.environ), account["ses"], account["cloudwatch"], account["sns"], engine
    )

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (120, 160)
    assert writes == []
    assert report.changes == []
    assert report.quota_is_unlimited
    quota_metrics = account["cloudwatch"].list_metrics(
        Namespace=config.sync_thresholds_settings(os.environ).metrics_namespace, MetricName="SendQuotaUsedPercent"
    )
    assert quota_metrics["Metrics"] == []
    assert account["warning"].read() == []
    assert audit_entries(engine) == []
    [warning] = logged(caplog, "SES quota is unlimited: send-count thresholds left unchanged")
    assert (warning.levelno, warning.max_24_hour_send) == (logging.WARNING, -1)


def test_a_quota_sync_keeps_the_alarm_settings_it_does_not_manage(account, lambda_context):
    newer_settings = {
        "ActionConfiguration": {"AlarmTagsPropagation": {"Enabled": True, "IncludedTagKeys": ["team"]}},
        "EvaluationWindow": {"WallClockWindow": {"Timezone": "Europe/Paris"}},
        "WarmUpConfiguration": {"WarmUpPeriodDurationInMinutes": 30, "OnlyStartEvaluatingAfterWarmUpPeriodEnds": True},
    }
    account["cloudwatch"].put_metric_alarm(
        AlarmName=WARNING_ALARM,
        MetricName="Send",
        Namespace="AWS/SES",
        Statistic="Sum",
        Period=3600,
        EvaluationPeriods=24,
        Threshold=120,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **newer_settings,
    )
    moto_ses.set_send_quota(50_000)

    handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])[WARNING_ALARM]
    assert after["Threshold"] == 30_000
    assert {key: after.get(key) for key in newer_settings} == newer_settings


def test_a_database_outage_does_not_stop_the_announcement_of_a_threshold_change(
    account, engine, lambda_context, caplog
):
    moto_ses.set_send_quota(50_000)

    with database_down(engine), pytest.raises(OperationalError, match="database is down"):
        handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (30_000, 40_000)
    [notice] = account["warning"].read()
    assert notice["Message"].startswith("SES quota 200 -> 50,000: thresholds 120/160 -> 30,000/40,000")
    assert audit_entries(engine) == []
    [failure] = logged(caplog, "threshold change not recorded in the audit log")
    assert "database is down" in failure.reason


def test_an_sns_outage_does_not_stop_the_audit_of_a_threshold_change(account, engine, lambda_context, caplog):
    account["sns"].delete_topic(TopicArn=os.environ["WARNING_TOPIC_ARN"])
    moto_ses.set_send_quota(50_000)

    with pytest.raises(ClientError, match="NotFound"):
        handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (30_000, 40_000)
    assert [(e["action"], e["target"], e["after_value"]) for e in audit_entries(engine)] == [
        ("threshold_changed", WARNING_ALARM, "30,000"),
        ("threshold_changed", CRITICAL_ALARM, "40,000"),
    ]
    [failure] = logged(caplog, "threshold change not announced")
    assert "NotFound" in failure.reason


def test_an_alarm_update_that_fails_midway_still_records_and_announces_the_ones_done(account, engine, lambda_context):
    updates = []

    def throttle_the_second_update(**kwargs):
        updates.append(kwargs["params"])
        if len(updates) == 2:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PutMetricAlarm")

    account["cloudwatch"].meta.events.register("before-call.cloudwatch.PutMetricAlarm", throttle_the_second_update)
    moto_ses.set_send_quota(50_000)

    with pytest.raises(ClientError, match="Throttling"):
        handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (30_000, 160)
    assert [(e["target"], e["after_value"]) for e in audit_entries(engine)] == [(WARNING_ALARM, "30,000")]
    [notice] = account["warning"].read()
    assert WARNING_ALARM in notice["Message"] and CRITICAL_ALARM not in notice["Message"]


def test_a_failed_quota_metric_never_stops_the_thresholds_from_moving(account, engine, lambda_context, caplog):
    def throttle(**kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PutMetricData")

    account["cloudwatch"].meta.events.register("before-call.cloudwatch.PutMetricData", throttle)
    moto_ses.set_send_quota(50_000)

    result = handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (30_000, 40_000)
    assert [c["alarm_name"] for c in result["changes"]] == [WARNING_ALARM, CRITICAL_ALARM]
    assert len(audit_entries(engine)) == 2
    [notice] = account["warning"].read()
    assert notice["Message"].startswith("SES quota 200 -> 50,000")
    [failure] = logged(caplog, "SendQuotaUsedPercent not published")
    assert "Throttling" in failure.reason and failure.namespace == "SESGuard/Quota"


def test_a_missing_managed_alarm_is_a_clear_error(account, lambda_context):
    account["cloudwatch"].delete_alarms(AlarmNames=[CRITICAL_ALARM])
    with pytest.raises(ValueError, match=f"send-count alarm\\(s\\) not found: {CRITICAL_ALARM}"):
        handlers.sync_thresholds({}, lambda_context)


CRITICAL_TOPIC = "arn:aws:sns:us-east-1:123456789012:app-ses-critical"


def alarm_event(name=BREAKER_ALARM, state="ALARM", account_id="123456789012", raw=None, topic=CRITICAL_TOPIC):
    message = (
        raw
        if raw is not None
        else json.dumps(
            {
                "AlarmName": name,
                "AlarmDescription": "mail to addresses that are not users",
                "AWSAccountId": account_id,
                "NewStateValue": state,
                "OldStateValue": "OK",
                "NewStateReason": "Threshold Crossed: 1 datapoint [10.0] was greater than or equal to the threshold.",
                "StateChangeTime": "2026-11-20T03:20:00.000+0000",
                "Region": "US East (N. Virginia)",
                "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{account_id}:alarm:{name}",
            }
        )
    )
    return ses.sns_event([message], topic_arn=topic)


def leak_scenario_logged(engine):
    now = audit.utcnow()
    notifications = [
        ses.notification(
            "Delivery", [f"victim{n}@elsewhere.test"], source_ip=ses.ATTACKER_IP, sent=now - timedelta(minutes=n)
        )
        for n in range(1, 11)
    ]
    notifications.append(ses.notification("Delivery", ["ghost@elsewhere.test"], sent=now - timedelta(minutes=3)))
    pipeline.process([InboundRecord(str(n), m) for n, m in enumerate(notifications)], engine, os.environ)


def test_the_breaker_disables_sending_on_its_alarm_with_evidence(account, engine, lambda_context):
    leak_scenario_logged(engine)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    assert result["acted_on"] == [BREAKER_ALARM]
    assert account["ses"].get_account_sending_enabled()["Enabled"] is False
    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: SES sending disabled by ses-guard"
    assert "Top source IPs:\n  198.51.100.66: 10\n  203.0.113.10: 1\n" in notice["Message"]
    assert "Threshold Crossed" in notice["Message"]
    assert "aws ses update-account-sending-enabled --enabled" in notice["Message"]
    [entry] = audit_entries(engine)
    assert (entry["action"], entry["target"], entry["before_value"], entry["after_value"]) == (
        "sending_disabled",
        "account",
        "enabled",
        "disabled",
    )


def test_the_breaker_refuses_and_says_so_when_the_database_is_down(account, engine, lambda_context, caplog):
    leak_scenario_logged(engine)
    with database_down(engine):
        result = handlers.disable_sending(alarm_event(), lambda_context)

    assert result["acted_on"] == []
    [refusal] = result["refused"]
    assert refusal.startswith("the guard's database could not be read ((")
    assert refusal.endswith("OperationalError) database is down), so the alarm could not be checked")
    assert account["ses"].get_account_sending_enabled()["Enabled"] is True
    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: ses-guard refused to disable SES sending"
    [evidence] = [line for line in notice["Message"].splitlines() if line.startswith("The evidence")]
    assert evidence.startswith("The evidence could not be read from the database: (")
    assert evidence.endswith("OperationalError) database is down")
    assert "aws ses update-account-sending-enabled --no-enabled" in notice["Message"]
    # The refusal could not be recorded either: said in one line, and the invocation still ended normally.
    [line] = logged(caplog, "breaker could not record the audit row")
    assert line.reason.endswith("OperationalError) database is down")
    assert audit_entries(engine) == []


def test_the_breaker_records_the_disabling_even_when_sns_fails(account, engine, lambda_context):
    leak_scenario_logged(engine)
    account["sns"].delete_topic(TopicArn=os.environ["CRITICAL_TOPIC_ARN"])

    with pytest.raises(ClientError, match="NotFound"):
        handlers.disable_sending(alarm_event(), lambda_context)

    assert account["ses"].get_account_sending_enabled()["Enabled"] is False
    assert [(e["action"], e["target"], e["after_value"]) for e in audit_entries(engine)] == [
        ("sending_disabled", "account", "disabled")
    ]


def test_the_breaker_can_disable_only_named_configuration_sets(account, engine, lambda_context, monkeypatch):
    account["ses"].create_configuration_set(ConfigurationSet={"Name": "marketing"})
    monkeypatch.setenv("BREAKER_CONFIGURATION_SETS", '["marketing"]')
    leak_scenario_logged(engine)

    handlers.disable_sending(alarm_event(), lambda_context)

    described = account["ses"].describe_configuration_set(
        ConfigurationSetName="marketing", ConfigurationSetAttributeNames=["reputationOptions"]
    )
    assert described["ReputationOptions"]["SendingEnabled"] is False
    assert account["ses"].get_account_sending_enabled()["Enabled"] is True


@pytest.mark.parametrize(
    "event",
    [
        alarm_event(name="someone-elses-alarm"),
        alarm_event(state="OK"),
        alarm_event(state="INSUFFICIENT_DATA"),
        alarm_event(account_id="999999999999"),
        alarm_event(topic="arn:aws:sns:us-east-1:123456789012:anyone-can-publish"),
        alarm_event(raw="{not json"),
        alarm_event(raw="[" * 100_000 + "]" * 100_000),
        alarm_event(raw=json.dumps(ses.notification("Bounce", ["user1@example.com"]))),
        alarm_event(raw=json.dumps({"AlarmName": BREAKER_ALARM, "NewStateValue": "ALARM"})),
        {"source": "aws.events", "detail-type": "Scheduled Event"},
    ],
    ids=[
        "other-alarm",
        "ok-state",
        "insufficient-data",
        "other-account",
        "other-topic",
        "malformed-json",
        "deeply-nested-json",
        "not-an-alarm",
        "forged-partial-alarm",
        "not-sns",
    ],
)
def test_the_breaker_ignores_anything_but_its_alarm_entering_alarm(account, engine, lambda_context, event):
    result = handlers.disable_sending(event, lambda_context)

    assert result["acted_on"] == []
    assert len(result["ignored"]) == 1
    assert account["ses"].get_account_sending_enabled()["Enabled"] is True
    assert account["critical"].read() == []
    assert audit_entries(engine) == []


def test_the_cli_sync_reports_the_changes(account, engine, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    moto_ses.set_send_quota(1_000)

    assert cli.main(["sync-thresholds"]) == 0
    assert capsys.readouterr().out == (
        "SES quota: 1,000 per 24 h, 0.0% used\n"
        f"  {WARNING_ALARM}: 120.00 -> 600.00 (60%)\n"
        f"  {CRITICAL_ALARM}: 160.00 -> 800.00 (80%)\n"
    )
    assert cli.main(["sync-thresholds"]) == 0
    assert "thresholds already match the quota: nothing changed" in capsys.readouterr().out


def test_the_cli_and_the_function_say_when_the_quota_is_unlimited(
    account, engine, database_url, lambda_context, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    moto_ses.set_send_quota(-1)

    assert cli.main(["sync-thresholds"]) == 0
    assert capsys.readouterr().out == (
        "SES quota: unlimited (Max24HourSend -1): the send-count thresholds were left as they are\n"
    )
    result = handlers.sync_thresholds({}, lambda_context)
    assert (result["quota_is_unlimited"], result["changes"]) == (True, [])
