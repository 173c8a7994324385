"""watch-enforcement: AWS's own verdict on the account (sesv2 GetAccount), watched hourly.

Each run publishes the verdict as two metrics (the module's critical alarm watches them), and when it
differs from the last one seen, announces AWS's words and records the new verdict in the audit log, which is
also where the last verdict is read from: a status change is announced once, not every hour.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Dict, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Select

from ses_guard import audit, schema
from ses_guard.observability import logger
from ses_guard.settings import WatchEnforcementSettings

STATUS_METRIC = "EnforcementStatus"
SENDING_DISABLED_METRIC = "SendingDisabledByOthers"
# The value published for each EnforcementStatus; a status AWS may add later counts as the worst.
STATUS_VALUES = {"HEALTHY": 0, "PROBATION": 1, "SHUTDOWN": 2}
UNKNOWN_STATUS_VALUE = 3
TARGET = "account"


@dataclass(frozen=True)
class Verdict:
    """What GetAccount says about the account, and who disabled sending when it is disabled."""

    enforcement_status: str
    sending_enabled: bool
    production_access_enabled: bool
    review_status: Optional[str] = None
    review_case_id: Optional[str] = None
    disabled_by_guard: bool = False

    @property
    def healthy(self) -> bool:
        return self.enforcement_status == "HEALTHY" and self.sending_enabled

    @property
    def status_value(self) -> int:
        return STATUS_VALUES.get(self.enforcement_status, UNKNOWN_STATUS_VALUE)

    @property
    def sending_disabled_by_others(self) -> bool:
        return not self.sending_enabled and not self.disabled_by_guard

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: Optional[str]) -> Optional[Verdict]:
        try:
            return cls(**json.loads(text)) if text else None
        except (ValueError, TypeError):  # a row written by hand or by another release: treat as unknown
            return None

    def describe(self) -> str:
        sending = "enabled"
        if not self.sending_enabled:
            sending = "disabled by the guard's breaker" if self.disabled_by_guard else "disabled (not by the guard)"
        text = f"EnforcementStatus {self.enforcement_status}, sending {sending}"
        if not self.production_access_enabled:
            text += ", sandbox (no production access)"
        if self.review_status or self.review_case_id:
            text += f", review {self.review_status or 'unknown'} (case {self.review_case_id or 'none'})"
        return text


@dataclass(frozen=True)
class WatchReport:
    verdict: Verdict
    previous: Optional[Verdict]
    changed: bool
    topic_arn: Optional[str] = None


def read_verdict(account: Mapping[str, Any], disabled_by_guard: bool) -> Verdict:
    review = (account.get("Details") or {}).get("ReviewDetails") or {}
    sending_enabled = bool(account.get("SendingEnabled", True))
    return Verdict(
        enforcement_status=str(account.get("EnforcementStatus") or "UNKNOWN"),
        sending_enabled=sending_enabled,
        production_access_enabled=bool(account.get("ProductionAccessEnabled", True)),
        review_status=review.get("Status"),
        review_case_id=review.get("CaseId"),
        disabled_by_guard=disabled_by_guard and not sending_enabled,
    )


def _verdicts_newest_first() -> Select:
    """(occurred_at, after_value) of every verdict recorded, the newest first."""
    log = schema.automation_audit_log
    return (
        select(log.c.occurred_at, log.c.after_value)
        .where(log.c.action == audit.ENFORCEMENT_CHANGED, log.c.target == TARGET)
        .order_by(log.c.audit_id.desc())
    )


def _last_verdict_row(connection: Connection) -> Optional[Mapping[str, Any]]:
    row = connection.execute(_verdicts_newest_first().limit(1)).first()
    return None if row is None else row._mapping


def _breaker_disabled_since(connection: Connection, since: Optional[datetime]) -> bool:
    """Whether the guard's breaker disabled account sending after the last verdict that saw it enabled."""
    log = schema.automation_audit_log
    query = select(log.c.audit_id).where(log.c.action == audit.SENDING_DISABLED, log.c.target == TARGET)
    if since is not None:
        query = query.where(log.c.occurred_at >= since)
    return connection.execute(query.limit(1)).first() is not None


def _last_seen_enabled(connection: Connection) -> Optional[datetime]:
    for occurred_at, after_value in connection.execute(_verdicts_newest_first()):
        verdict = Verdict.from_json(after_value)
        if verdict is not None and verdict.sending_enabled:
            return occurred_at
    return None


def announcement(verdict: Verdict, previous: Optional[Verdict]) -> Dict[str, str]:
    if verdict.healthy:
        subject = "SES account back to HEALTHY"
    elif verdict.enforcement_status != "HEALTHY":
        subject = f"CRITICAL: AWS put the SES account under {verdict.enforcement_status}"
    else:
        subject = "CRITICAL: SES sending is disabled for the account"
    lines = [
        f"AWS says (sesv2 GetAccount): {verdict.describe()}",
        f"Before: {previous.describe() if previous else 'not watched yet'}",
    ]
    if verdict.enforcement_status in ("PROBATION", "SHUTDOWN"):
        lines.append(
            "AWS reviews the account (bounce or complaint rate, or a policy issue). Read the review case in the AWS "
            "Support Center, fix the cause, and answer the case; SHUTDOWN stops all sending."
        )
    if verdict.sending_disabled_by_others:
        lines.append(
            "Sending was disabled by someone other than the guard's breaker (AWS or an operator): check "
            "`aws sesv2 get-account` and CloudTrail (UpdateAccountSendingEnabled / PutAccountSendingAttributes)."
        )
    return {"Subject": subject, "Message": "\n".join(lines)}


def watch(settings: WatchEnforcementSettings, sesv2: Any, cloudwatch: Any, sns: Any, engine: Engine) -> WatchReport:
    """Read the verdict, publish it, and announce and record it when it changed since the last run.

    The audit row is written only after the announcement went out: a failed announcement is tried again by
    the next run (the change is still a change then), and the failure is raised for the errors alarm.
    """
    account = sesv2.get_account()
    with engine.connect() as connection:
        last = _last_verdict_row(connection)
        previous = Verdict.from_json(last["after_value"]) if last else None
        disabled_by_guard = not account.get("SendingEnabled", True) and _breaker_disabled_since(
            connection, _last_seen_enabled(connection)
        )
    verdict = read_verdict(account, disabled_by_guard)
    # PutMetricData rather than EMF, as the quota sync: the same code may run from the command line.
    dimensions = [{"Name": "service", "Value": settings.service_name}]
    cloudwatch.put_metric_data(
        Namespace=settings.metrics_namespace,
        MetricData=[
            {"MetricName": STATUS_METRIC, "Dimensions": dimensions, "Unit": "None", "Value": verdict.status_value},
            {
                "MetricName": SENDING_DISABLED_METRIC,
                "Dimensions": dimensions,
                "Unit": "None",
                "Value": 1 if verdict.sending_disabled_by_others else 0,
            },
        ],
    )
    changed = verdict != previous
    logger.info(
        "SES account verdict",
        extra={"verdict": asdict(verdict), "changed": changed, "previous": asdict(previous) if previous else None},
    )
    if not changed:
        return WatchReport(verdict, previous, changed=False)
    # A first look at a healthy account is recorded, not announced: nobody needs telling that all is well.
    topic_arn = None
    if previous is not None or not verdict.healthy:
        topic_arn = settings.warning_topic_arn if verdict.healthy else settings.critical_topic_arn
    if topic_arn:
        sns.publish(TopicArn=topic_arn, **announcement(verdict, previous))
    with engine.begin() as connection:
        audit.record(
            connection,
            [
                audit.AuditEntry(
                    audit.ENFORCEMENT_CHANGED,
                    TARGET,
                    f"AWS says: {verdict.describe()}",
                    previous.to_json() if previous else None,
                    verdict.to_json(),
                )
            ],
            settings.actor,
        )
    return WatchReport(verdict, previous, changed=True, topic_arn=topic_arn)


def report_dict(report: WatchReport) -> Dict[str, Any]:
    """The report as the handler and the command line return it."""
    return {
        "verdict": asdict(report.verdict),
        "previous": asdict(report.previous) if report.previous else None,
        "changed": report.changed,
        "announced_on": report.topic_arn,
    }
