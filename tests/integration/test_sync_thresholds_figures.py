# ruff: noqa: F811 (the account fixture is imported from test_automation, then requested by name)
"""The quota sync's figures an operator reads: every alarm brought to its share, the share of the quota used
(metric, announcement, CLI), the audit rows (issue 17)."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError
from sqlalchemy.exc import OperationalError

from ses_guard import cli, handlers, sync_thresholds
from ses_guard.settings import ConfigurationError, sync_thresholds_settings
from tests.conftest import both_databases
from tests.integration.test_automation import (  # noqa: F401 (fixture)
    CRITICAL_ALARM,
    WARNING_ALARM,
    account,
    alarms,
    audit_entries,
    database_down,
    logged,
)
from tests.support import moto_ses

pytestmark = both_databases


def set_threshold(cloudwatch, name, threshold):
    """What an operator (or an earlier sync) did: the alarm as it is, with another threshold."""
    alarm = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    settings = (
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "AlarmActions",
        "OKActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "Period",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "ComparisonOperator",
        "TreatMissingData",
        "Unit",
    )
    cloudwatch.put_metric_alarm(**{key: alarm[key] for key in settings if key in alarm}, Threshold=threshold)


def quota_used_values(cloudwatch):
    settings = sync_thresholds_settings(os.environ)
    statistics = cloudwatch.get_metric_statistics(
        Namespace=settings.metrics_namespace,
        MetricName=sync_thresholds.QUOTA_USED_METRIC,
        Dimensions=[{"Name": "service", "Value": settings.service_name}],
        StartTime=datetime.now(timezone.utc) - timedelta(hours=1),
        EndTime=datetime.now(timezone.utc) + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum", "SampleCount"],
        Unit="Percent",
    )
    return [(point["Maximum"], point["SampleCount"]) for point in statistics["Datapoints"]]


def test_an_alarm_already_at_its_share_does_not_stop_the_others_from_moving(account, engine, lambda_context):
    """The alarms are brought up in order of their share: the first one already right is skipped, not the end."""
    set_threshold(account["cloudwatch"], WARNING_ALARM, 30_000)  # 60 % of the coming quota
    moto_ses.set_send_quota(50_000)

    result = handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (30_000, 40_000)
    assert [c["alarm_name"] for c in result["changes"]] == [CRITICAL_ALARM]
    assert [(e["target"], e["before_value"], e["after_value"]) for e in audit_entries(engine)] == [
        (CRITICAL_ALARM, "160", "40,000")
    ]
    [notice] = account["warning"].read()
    assert notice["Message"].startswith("SES quota 200 -> 50,000: thresholds 160 -> 40,000\n")
    assert WARNING_ALARM not in notice["Message"]


def test_the_share_of_the_quota_used_is_published_announced_and_printed(
    account, engine, database_url, lambda_context, monkeypatch, capsys
):
    moto_ses.set_send_quota(1_000, sent_last_24_hours=250)

    result = handlers.sync_thresholds({}, lambda_context)

    assert (result["max_24_hour_send"], result["sent_last_24_hours"]) == (1_000, 250)
    assert quota_used_values(account["cloudwatch"]) == [(25.0, 1.0)]
    [notice] = account["warning"].read()
    assert notice["Message"].endswith("\n\nQuota used in the last 24 hours: 25.0%")

    monkeypatch.setenv("DATABASE_URL", database_url)
    moto_ses.set_send_quota(1_000, sent_last_24_hours=125)
    assert cli.main(["sync-thresholds"]) == 0
    assert capsys.readouterr().out == (
        "SES quota: 1,000 per 24 h, 12.5% used\nthresholds already match the quota: nothing changed\n"
    )
    assert cli.main(["sync-thresholds", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["max_24_hour_send"], printed["sent_last_24_hours"]) == (1_000, 125)


def test_the_announcement_of_a_decrease_word_for_word(account, engine, lambda_context):
    moto_ses.set_send_quota(100, sent_last_24_hours=25)

    handlers.sync_thresholds({}, lambda_context)

    [notice] = account["warning"].read()
    assert notice["Subject"] == "WARNING: SES sending quota decreased"
    assert notice["Message"] == (
        "SES quota 200 -> 100: thresholds 120/160 -> 60/80\n\n"
        f"- {WARNING_ALARM} (60% of quota): 120 -> 60\n"
        f"- {CRITICAL_ALARM} (80% of quota): 160 -> 80\n\n"
        "Quota used in the last 24 hours: 25.0%\n"
        "The quota went down: check the account's status in the SES console (sending review?)."
    )


def test_fractional_thresholds_keep_their_cents_in_the_announcement_and_the_audit(account, engine, lambda_context):
    moto_ses.set_send_quota(1_001)

    handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (600.6, 800.8)
    [notice] = account["warning"].read()
    assert notice["Message"].startswith("SES quota 200 -> 1,001: thresholds 120/160 -> 600.60/800.80\n")
    assert [(e["target"], e["before_value"], e["after_value"]) for e in audit_entries(engine)] == [
        (WARNING_ALARM, "120", "600.60"),
        (CRITICAL_ALARM, "160", "800.80"),
    ]


def test_each_sync_logs_its_figures_and_each_failure_its_reason(account, engine, lambda_context, caplog):
    moto_ses.set_send_quota(3_000, sent_last_24_hours=1_000)

    updates = []

    def throttle_the_second_update(**kwargs):
        updates.append(kwargs)
        if len(updates) == 2:  # the critical alarm's: the alarms are updated in order of their share
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "PutMetricAlarm")

    account["cloudwatch"].meta.events.register("before-call.cloudwatch.PutMetricAlarm", throttle_the_second_update)
    with pytest.raises(ClientError, match="Throttling"):
        handlers.sync_thresholds({}, lambda_context)

    [failure] = logged(caplog, "send-count threshold not updated")
    assert failure.levelno == logging.ERROR and "Throttling" in failure.reason
    [synced] = logged(caplog, "send-count thresholds synced")
    assert synced.levelno == logging.INFO
    # The share used to the hundredth of a percent (one third: 33.33...).
    assert (synced.max_24_hour_send, synced.sent_last_24_hours, synced.quota_used_percent) == (3000, 1000, 33.33)
    assert synced.changed_alarms == [WARNING_ALARM]


def test_alarms_the_sync_cannot_manage_are_named(account, lambda_context, monkeypatch):
    monkeypatch.setenv("SEND_COUNT_ALARMS", json.dumps({"zeta-missing": 50, "alpha-missing": 40, WARNING_ALARM: 60}))
    with pytest.raises(ConfigurationError) as raised:
        handlers.sync_thresholds({}, lambda_context)
    assert str(raised.value) == "send-count alarm(s) not found: alpha-missing, zeta-missing"


def test_no_alarm_to_manage_is_a_configuration_error(account, lambda_context, monkeypatch):
    monkeypatch.setenv("SEND_COUNT_ALARMS", "{}")
    with pytest.raises(ConfigurationError) as raised:
        handlers.sync_thresholds({}, lambda_context)
    assert str(raised.value) == "SEND_COUNT_ALARMS names no alarm to manage"


def test_a_quota_of_zero_leaves_the_thresholds_as_they_are(account, engine, lambda_context, caplog):
    moto_ses.set_send_quota(0, sent_last_24_hours=5)

    result = handlers.sync_thresholds({}, lambda_context)

    assert (result["quota_is_unlimited"], result["changes"]) == (True, [])
    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (120, 160)
    [line] = logged(caplog, "SES quota is unlimited: send-count thresholds left unchanged")
    assert (line.max_24_hour_send, line.sent_last_24_hours) == (0, 5)


def test_the_audit_reason_of_a_threshold_change_is_the_announcements_first_line(account, engine, lambda_context):
    moto_ses.set_send_quota(50_000)

    handlers.sync_thresholds({}, lambda_context)

    line = "SES quota 200 -> 50,000: thresholds 120/160 -> 30,000/40,000"
    assert [(e["target"], e["reason"]) for e in audit_entries(engine)] == [
        (WARNING_ALARM, line),
        (CRITICAL_ALARM, line),
    ]


def test_an_unrecorded_or_unannounced_change_is_a_log_line_naming_the_alarms(account, engine, lambda_context, caplog):
    moto_ses.set_send_quota(50_000)
    account["sns"].delete_topic(TopicArn=os.environ["WARNING_TOPIC_ARN"])

    with database_down(engine), pytest.raises(OperationalError):
        handlers.sync_thresholds({}, lambda_context)

    [unrecorded] = logged(caplog, "threshold change not recorded in the audit log")
    assert (unrecorded.levelno, unrecorded.changed_alarms) == (logging.ERROR, [WARNING_ALARM, CRITICAL_ALARM])
    assert "database is down" in unrecorded.reason
    [unannounced] = logged(caplog, "threshold change not announced")
    assert (unannounced.levelno, unannounced.changed_alarms, unannounced.topic_arn) == (
        logging.ERROR,
        [WARNING_ALARM, CRITICAL_ALARM],
        os.environ["WARNING_TOPIC_ARN"],
    )
    assert "NotFound" in unannounced.reason


def test_a_share_is_set_to_the_cent(account, engine, lambda_context, monkeypatch):
    monkeypatch.setenv("SEND_COUNT_ALARMS", json.dumps({WARNING_ALARM: 33.3, CRITICAL_ALARM: 80}))
    moto_ses.set_send_quota(1_001)

    handlers.sync_thresholds({}, lambda_context)

    after = alarms(account["cloudwatch"])
    assert (after[WARNING_ALARM]["Threshold"], after[CRITICAL_ALARM]["Threshold"]) == (333.33, 800.8)
