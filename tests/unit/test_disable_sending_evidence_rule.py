"""What evidence the breaker asks of its database for an alarm, read from the alarm CloudWatch describes
(issue 17)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ses_guard.disable_sending import EvidenceRule, evidence_rule

GUARD_ALARM = {"Namespace": "SESGuard", "MetricName": "EmailNotRegisteredCount", "Threshold": 10.0}


@pytest.mark.parametrize(
    ("period", "evaluation_periods", "window"),
    [(300, 1, timedelta(minutes=10)), (60, 5, timedelta(minutes=6)), (3600, 24, timedelta(hours=25))],
)
def test_the_window_is_one_period_more_than_the_alarm_evaluates(period, evaluation_periods, window):
    alarm = {**GUARD_ALARM, "Period": period, "EvaluationPeriods": evaluation_periods, "Threshold": 2.5}

    assert evidence_rule(alarm) == EvidenceRule(threshold=2.5, window=window)


@pytest.mark.parametrize("namespace", ["AWS/SES", "AWS/Usage"])
def test_an_alarm_on_a_metric_only_aws_writes_needs_no_evidence(namespace):
    assert evidence_rule({"Namespace": namespace, "MetricName": "Send", "Threshold": 1}) is None


@pytest.mark.parametrize(
    ("alarm", "reason"),
    [
        (
            {"Namespace": "SESGuard", "MetricName": "Sends", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1},
            "the alarm watches 'Sends' in 'SESGuard', a metric the guard cannot check against its own records "
            "(only EmailNotRegisteredCount or AWS metrics)",
        ),
        (
            {"Namespace": "aws/ses", "MetricName": "Send", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1},
            "the alarm watches 'Send' in 'aws/ses', a metric the guard cannot check against its own records "
            "(only EmailNotRegisteredCount or AWS metrics)",
        ),
        (
            {**GUARD_ALARM, "EvaluationPeriods": 1},
            "the alarm has no Threshold, Period and EvaluationPeriods to check its evidence",
        ),
        (
            {**GUARD_ALARM, "Period": "five minutes", "EvaluationPeriods": 1},
            "the alarm has no Threshold, Period and EvaluationPeriods to check its evidence",
        ),
        (
            {**GUARD_ALARM, "Period": 300, "EvaluationPeriods": None},
            "the alarm has no Threshold, Period and EvaluationPeriods to check its evidence",
        ),
    ],
    ids=["other-metric", "lowercase-aws-namespace", "no-period", "unreadable-period", "no-evaluation-periods"],
)
def test_an_alarm_the_guard_cannot_check_says_why(alarm, reason):
    with pytest.raises(ValueError) as raised:
        evidence_rule(alarm)
    assert str(raised.value) == reason
