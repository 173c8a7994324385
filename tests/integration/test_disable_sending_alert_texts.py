# ruff: noqa: F811 (the account fixture is imported from test_automation, then requested by name)
"""What the on-call reads and what the audit keeps when the breaker acts or refuses: the whole alert, word for
word, the evidence's figures, the audit row's before and after values (issue 17)."""

from __future__ import annotations

import json
import os

import pytest
from botocore.exceptions import ClientError

from ses_guard import audit, disable_sending, handlers, lambda_events
from ses_guard import settings as config
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Home
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.integration.test_automation import (  # noqa: F401 (fixture)
    BREAKER_ALARM,
    CRITICAL_ALARM,
    account,
    alarm_event,
    audit_entries,
    leak_scenario_logged,
    logged,
)
from tests.integration.test_disable_sending_evidence import (
    assert_refusal_audited,
    log_unregistered,
    set_breaker_alarm,
)
from tests.support import pipeline

pytestmark = both_databases

ALARM_LINES = (
    f"Alarm: {BREAKER_ALARM} entered ALARM at 2026-11-20T03:20:00.000+0000\n"
    "Reason: Threshold Crossed: 1 datapoint [10.0] was greater than or equal to the threshold.\n"
)
REASON = f"{BREAKER_ALARM} in ALARM: Threshold Crossed: 1 datapoint [10.0] was greater than or equal to the threshold."


def test_the_alert_of_a_trip_word_for_word(account, engine, lambda_context):
    leak_scenario_logged(engine)

    handlers.disable_sending(alarm_event(), lambda_context)

    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: SES sending disabled by ses-guard"
    assert notice["Message"] == (
        "ses-guard disabled SES sending for: the whole account\n\n"
        f"{ALARM_LINES}\n"
        "Mail to addresses that are not users in the last 24 h: 11\n"
        "Top source IPs:\n"
        "  198.51.100.66: 10\n"
        "  203.0.113.10: 1\n"
        "Top caller identities:\n"
        "  app-sender: 11\n\n"
        "After investigating (rotate leaked credentials, check the source IPs above), re-enable with:\n"
        "  aws ses update-account-sending-enabled --enabled\n"
        "or, for a configuration set:\n"
        "  aws ses update-configuration-set-sending-enabled --configuration-set-name NAME --enabled"
    )
    [entry] = audit_entries(engine)
    assert (entry["action"], entry["target"], entry["reason"]) == ("sending_disabled", "account", REASON)
    assert (entry["before_value"], entry["after_value"]) == ("enabled", "disabled")


def test_the_alert_of_a_refusal_word_for_word(account, engine, lambda_context):
    log_unregistered(engine, 9)

    handlers.disable_sending(alarm_event(), lambda_context)

    refusal = (
        "the guard's database holds 9 unregistered (message, recipient) pair(s) from account 123456789012 "
        "recorded in the last 10 min, below the alarm's threshold of 10"
    )
    [notice] = account["critical"].read()
    assert notice["Subject"] == "CRITICAL: ses-guard refused to disable SES sending"
    assert notice["Message"] == (
        "ses-guard did NOT disable SES sending for: the whole account\n\n"
        f"{ALARM_LINES}\n"
        f"Refused: {refusal}.\n"
        "Either someone other than the guard wrote the alarm's metric or state (look in CloudTrail for "
        "PutMetricData, SetAlarmState or PutMetricAlarm), or the guard's processor or database is failing "
        "(see its alarms and log group).\n\n"
        # The nine were sent on 1 November: counted for the decision (recorded just now), not in the ranking.
        "Mail to addresses that are not users in the last 24 h: 0\n"
        "Top source IPs:\n  (none logged)\n"
        "Top caller identities:\n  (none logged)\n\n"
        "If mail really goes to unregistered recipients, disable sending by hand:\n"
        "  aws ses update-account-sending-enabled --no-enabled\n"
        "or, for a configuration set:\n"
        "  aws ses update-configuration-set-sending-enabled --configuration-set-name NAME --no-enabled"
    )
    assert_refusal_audited(engine, refusal)


def test_sending_already_off_is_recorded_as_off(account, engine, lambda_context):
    """An operator (or an earlier trip) had disabled sending: the audit row must not claim the guard turned
    off a sending that was on."""
    account["ses"].update_account_sending_enabled(Enabled=False)
    leak_scenario_logged(engine)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    assert result["acted_on"] == [BREAKER_ALARM]
    [entry] = audit_entries(engine)
    assert (entry["action"], entry["target"], entry["before_value"], entry["after_value"]) == (
        "sending_disabled",
        "account",
        "disabled",
        "disabled",
    )


def test_configuration_sets_are_named_in_the_alert_and_the_audit(account, engine, lambda_context, monkeypatch):
    for name in ("marketing", "newsletters"):
        account["ses"].create_configuration_set(ConfigurationSet={"Name": name})
    monkeypatch.setenv("BREAKER_CONFIGURATION_SETS", '["marketing", "newsletters"]')
    leak_scenario_logged(engine)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    targets = ["configuration set marketing", "configuration set newsletters"]
    assert result["disabled_targets"] == targets
    [notice] = account["critical"].read()
    assert notice["Message"].startswith(f"ses-guard disabled SES sending for: {', '.join(targets)}\n\n")
    assert [(e["target"], e["reason"], e["before_value"], e["after_value"]) for e in audit_entries(engine)] == [
        ("configuration-set:marketing", REASON, None, "disabled"),
        ("configuration-set:newsletters", REASON, None, "disabled"),
    ]
    assert account["ses"].get_account_sending_enabled()["Enabled"] is True


def test_an_empty_ranking_is_said_so(account, engine, lambda_context, monkeypatch):
    """A trip on an AWS metric needs no records; what the database holds is still reported, as it is."""
    monkeypatch.setenv("BREAKER_ALARM_NAMES", json.dumps([CRITICAL_ALARM]))
    account["cloudwatch"].set_alarm_state(AlarmName=CRITICAL_ALARM, StateValue="ALARM", StateReason="test")

    handlers.disable_sending(alarm_event(name=CRITICAL_ALARM), lambda_context)

    [notice] = account["critical"].read()
    assert (
        "Mail to addresses that are not users in the last 24 h: 0\n"
        "Top source IPs:\n  (none logged)\nTop caller identities:\n  (none logged)\n\n"
    ) in notice["Message"]


def test_a_sender_without_an_ip_or_identity_is_unknown_in_the_ranking(account, engine, lambda_context):
    leak_scenario_logged(engine)
    anonymous = ses.notification("Delivery", ["nobody@elsewhere.test"], sent=audit.utcnow())
    del anonymous["mail"]["sourceIp"], anonymous["mail"]["callerIdentity"]
    pipeline.process([InboundRecord("anonymous", anonymous)], engine)

    handlers.disable_sending(alarm_event(), lambda_context)

    [notice] = account["critical"].read()
    assert "Top source IPs:\n  198.51.100.66: 10\n  (unknown): 1\n  203.0.113.10: 1\n" in notice["Message"]
    assert "Top caller identities:\n  app-sender: 11\n  (unknown): 1\n" in notice["Message"]


@pytest.mark.parametrize(
    ("period", "evaluation_periods", "said"),
    [(300, 1, "10 min"), (3600, 1, "2 h"), (10, 2, "30 s")],
)
def test_the_refusal_says_the_alarms_window_in_its_unit(
    account, engine, lambda_context, period, evaluation_periods, said
):
    set_breaker_alarm(account["cloudwatch"], period=period, evaluation_periods=evaluation_periods)

    [refusal] = handlers.disable_sending(alarm_event(), lambda_context)["refused"]

    assert refusal == (
        "the guard's database holds 0 unregistered (message, recipient) pair(s) from account 123456789012 "
        f"recorded in the last {said}, below the alarm's threshold of 10"
    )


def test_a_refusal_names_every_configuration_set_it_left_on(account, engine, lambda_context, monkeypatch):
    monkeypatch.setenv("BREAKER_CONFIGURATION_SETS", '["marketing", "newsletters"]')
    log_unregistered(engine, 9)

    handlers.disable_sending(alarm_event(), lambda_context)

    [notice] = account["critical"].read()
    assert notice["Message"].startswith(
        "ses-guard did NOT disable SES sending for: configuration set marketing, configuration set newsletters\n\n"
    )
    assert [(e["action"], e["target"]) for e in audit_entries(engine)] == [
        ("sending_disable_refused", "configuration-set:marketing"),
        ("sending_disable_refused", "configuration-set:newsletters"),
    ]


def test_a_refusal_that_cannot_be_announced_is_a_log_line_naming_what_was_left_on(
    account, engine, lambda_context, caplog
):
    log_unregistered(engine, 9)
    account["sns"].delete_topic(TopicArn=os.environ["CRITICAL_TOPIC_ARN"])

    with pytest.raises(ClientError, match="NotFound"):
        handlers.disable_sending(alarm_event(), lambda_context)

    [line] = logged(caplog, "breaker could not announce on the critical topic")
    assert line.targets == ["the whole account"]


@pytest.mark.parametrize("evidence", [9, 10], ids=["refused", "tripped"])
def test_the_audit_row_is_dated_by_the_breakers_clock(account, engine, evidence):
    log_unregistered(engine, evidence)
    moment = audit.utcnow().replace(microsecond=0)

    disable_sending.handle(
        lambda_events.sns_messages(alarm_event()),
        config.disable_sending_settings(os.environ),
        Home("aws", "us-east-1", ses.ACCOUNT),
        {name: account[name] for name in ("ses", "sns", "cloudwatch")},
        engine,
        clock=lambda: moment,
    )

    [entry] = audit_entries(engine)
    assert entry["occurred_at"] == moment


def test_two_mails_to_one_unregistered_recipient_are_two_pairs_of_evidence(account, engine, lambda_context):
    records = []
    for n in range(5):
        for mail in range(2):
            message = ses.notification("Delivery", [f"victim{n}@elsewhere.test"], message_id=f"0100018two{mail}{n:04d}")
            records.append(InboundRecord(f"{n}-{mail}", message))
    pipeline.process(records, engine)

    result = handlers.disable_sending(alarm_event(), lambda_context)

    assert result["acted_on"] == [BREAKER_ALARM]  # 10 pairs: the alarm's threshold
