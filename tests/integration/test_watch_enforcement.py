"""The enforcement watch against moto (extended with sesv2 GetAccount), on SQLite and MariaDB."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from ses_guard import disable_sending, handlers, watch_enforcement
from ses_guard import settings as config
from tests.conftest import both_databases
from tests.integration.test_automation import Announcements, audit_entries
from tests.support import moto_sesv2

pytestmark = both_databases

REVIEW = {"Status": "PENDING", "CaseId": "case-1234567890"}


@pytest.fixture
def account(monkeypatch, engine, moto_clients):
    clients = dict(moto_clients)
    warning = clients["sns"].create_topic(Name="app-ses-warning")["TopicArn"]
    critical = clients["sns"].create_topic(Name="app-ses-critical")["TopicArn"]
    monkeypatch.setenv("WARNING_TOPIC_ARN", warning)
    monkeypatch.setenv("CRITICAL_TOPIC_ARN", critical)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "app")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "app-watch-enforcement")
    clients["warning"] = Announcements(clients["sns"], clients["sqs"], warning)
    clients["critical"] = Announcements(clients["sns"], clients["sqs"], critical)
    return clients


def published(cloudwatch, metric):
    """The values of the last hour's datapoints of one of the watch's metrics, as the alarm reads them."""
    now = datetime.now(timezone.utc)
    points = cloudwatch.get_metric_statistics(
        Namespace="SESGuard/Enforcement",
        MetricName=metric,
        Dimensions=[{"Name": "service", "Value": "app"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [point["Maximum"] for point in points]


def verdicts(engine):
    return [e for e in audit_entries(engine) if e["action"] == "enforcement_changed"]


def test_probation_is_announced_once_not_every_hour(account, engine, lambda_context):
    first = handlers.watch_enforcement({}, lambda_context)
    assert first["verdict"]["enforcement_status"] == "HEALTHY"
    assert account["warning"].read() == [] and account["critical"].read() == []
    assert len(verdicts(engine)) == 1  # the baseline the next run compares with

    moto_sesv2.set_account_status("PROBATION", review_details=REVIEW)
    handlers.watch_enforcement({}, lambda_context)
    handlers.watch_enforcement({}, lambda_context)
    handlers.watch_enforcement({}, lambda_context)

    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: AWS put the SES account under PROBATION"
    assert "AWS says (sesv2 GetAccount): EnforcementStatus PROBATION, sending enabled" in notice["Message"]
    assert "review PENDING (case case-1234567890)" in notice["Message"]
    assert "Before: EnforcementStatus HEALTHY, sending enabled" in notice["Message"]
    assert account["warning"].read() == []
    rows = verdicts(engine)
    assert len(rows) == 2
    assert (rows[1]["target"], rows[1]["actor"]) == ("account", "app-watch-enforcement")
    assert "PROBATION" in rows[1]["reason"] and "HEALTHY" in rows[1]["before_value"]
    assert 1.0 in published(account["cloudwatch"], "EnforcementStatus")

    moto_sesv2.set_account_status("HEALTHY")
    handlers.watch_enforcement({}, lambda_context)

    [recovered] = account["warning"].read()
    assert recovered["Subject"] == "SES account back to HEALTHY"
    assert account["critical"].read() == []
    assert len(verdicts(engine)) == 3


def test_a_shutdown_met_on_the_first_run_is_announced(account, engine, lambda_context):
    moto_sesv2.set_account_status("SHUTDOWN")
    account["ses"].update_account_sending_enabled(Enabled=False)

    handlers.watch_enforcement({}, lambda_context)

    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: AWS put the SES account under SHUTDOWN"
    assert "sending disabled (not by the guard)" in notice["Message"]
    assert "Before: not watched yet" in notice["Message"]
    assert 2.0 in published(account["cloudwatch"], "EnforcementStatus")
    assert 1.0 in published(account["cloudwatch"], "SendingDisabledByOthers")


def test_sending_disabled_by_someone_else_is_critical(account, engine, lambda_context):
    handlers.watch_enforcement({}, lambda_context)
    account["ses"].update_account_sending_enabled(Enabled=False)

    result = handlers.watch_enforcement({}, lambda_context)

    assert result["verdict"]["disabled_by_guard"] is False
    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: SES sending is disabled for the account"
    assert "disabled by someone other than the guard's breaker" in notice["Message"]
    assert 1.0 in published(account["cloudwatch"], "SendingDisabledByOthers")


# What the breaker acts on; these tests only need a trip recorded.
GUARD_ALARM = disable_sending.AlarmNotification(
    alarm_name="app-unregistered-recipients-critical",
    alarm_arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:app-unregistered-recipients-critical",
    account_id="123456789012",
    old_state="OK",
    new_state="ALARM",
    reason="test",
    state_change_time="now",
)


def test_sending_disabled_by_the_guards_breaker_raises_no_alarm_metric(account, engine, lambda_context):
    handlers.watch_enforcement({}, lambda_context)
    disable_sending.trip(
        GUARD_ALARM, config.disable_sending_settings(os.environ), account["ses"], account["sns"], engine
    )
    account["critical"].read()  # the breaker's own announcement

    result = handlers.watch_enforcement({}, lambda_context)

    assert result["verdict"]["disabled_by_guard"] is True
    assert set(published(account["cloudwatch"], "SendingDisabledByOthers")) == {0.0}
    [notice] = account["critical"].read()
    assert "sending disabled by the guard's breaker" in notice["Message"]


def test_an_old_breaker_disabling_does_not_excuse_a_new_one_by_someone_else(account, engine, lambda_context):
    disable_sending.trip(
        GUARD_ALARM, config.disable_sending_settings(os.environ), account["ses"], account["sns"], engine
    )
    handlers.watch_enforcement({}, lambda_context)
    account["ses"].update_account_sending_enabled(Enabled=True)  # the operator, after investigating
    handlers.watch_enforcement({}, lambda_context)
    account["ses"].update_account_sending_enabled(Enabled=False)  # not the breaker this time

    result = handlers.watch_enforcement({}, lambda_context)

    assert result["verdict"]["disabled_by_guard"] is False
    assert result["changed"] is True


def test_a_failed_announcement_is_tried_again_by_the_next_run(account, engine, lambda_context):
    handlers.watch_enforcement({}, lambda_context)
    account["sns"].delete_topic(TopicArn=os.environ["CRITICAL_TOPIC_ARN"])
    moto_sesv2.set_account_status("PROBATION")

    with pytest.raises(ClientError, match="NotFound"):
        handlers.watch_enforcement({}, lambda_context)
    assert len(verdicts(engine)) == 1

    topic = account["sns"].create_topic(Name="app-ses-critical")["TopicArn"]
    inbox = Announcements(account["sns"], account["sqs"], topic)
    handlers.watch_enforcement({}, lambda_context)

    [notice] = inbox.read()
    assert "PROBATION" in notice["Subject"]
    assert len(verdicts(engine)) == 2


def test_an_unknown_status_counts_as_the_worst(account, engine):
    moto_sesv2.set_account_status("SOMETHING_NEW")

    report = watch_enforcement.watch(
        config.watch_enforcement_settings(os.environ), account["sesv2"], account["cloudwatch"], account["sns"], engine
    )

    assert report.verdict.status_value == watch_enforcement.UNKNOWN_STATUS_VALUE
    assert "SOMETHING_NEW" in account["critical"].read()[0]["Subject"]
