"""The sending breaker: stop SES sending when the unregistered-recipient alarm fires.

It acts only on a CloudWatch alarm notification, from this account, for an allowlisted alarm, entering
ALARM. It never re-enables sending: that is an operator's decision after investigating.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ses_guard import audit
from ses_guard.observability import logger
from ses_guard.schema import unvalidated_email_log
from ses_guard.settings import Settings

EVIDENCE_WINDOW = timedelta(hours=24)
EVIDENCE_TOP = 5
EVIDENCE_TIMEOUT = timedelta(seconds=10)

REENABLE_HINT = (
    "After investigating (rotate leaked credentials, check the source IPs above), re-enable with:\n"
    "  aws ses update-account-sending-enabled --enabled\n"
    "or, for a configuration set:\n"
    "  aws ses update-configuration-set-sending-enabled --configuration-set-name NAME --enabled"
)


@dataclass(frozen=True)
class AlarmNotification:
    alarm_name: str
    account_id: str
    new_state: str
    reason: str
    state_change_time: str


@dataclass
class Evidence:
    source_ips: List[Tuple[Optional[str], int]] = field(default_factory=list)
    caller_identities: List[Tuple[Optional[str], int]] = field(default_factory=list)
    unregistered_sends: int = 0


@dataclass
class BreakerOutcome:
    acted_on: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    disabled_targets: List[str] = field(default_factory=list)


def parse_alarm(message: Any) -> AlarmNotification:
    """The CloudWatch alarm notification in an SNS message; ValueError says why it is not one."""
    try:
        body = json.loads(message) if isinstance(message, str) else message
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ValueError("message is not JSON") from None
    if not isinstance(body, Mapping):
        raise ValueError("message is not a JSON object")
    fields = ("AlarmName", "AWSAccountId", "NewStateValue", "NewStateReason", "StateChangeTime")
    missing = [name for name in fields if not isinstance(body.get(name), str)]
    if missing:
        raise ValueError(f"not a CloudWatch alarm notification (no {', '.join(missing)})")
    return AlarmNotification(
        alarm_name=body["AlarmName"],
        account_id=body["AWSAccountId"],
        new_state=body["NewStateValue"],
        reason=body["NewStateReason"],
        state_change_time=body["StateChangeTime"],
    )


def _check_topic(topic_arn: Any, settings: Settings) -> None:
    if settings.critical_topic_arn and topic_arn != settings.critical_topic_arn:
        raise ValueError(f"message came from {topic_arn!r}, not the critical alert topic")


def why_ignored(alarm: AlarmNotification, settings: Settings, account_id: str) -> Optional[str]:
    if alarm.alarm_name not in settings.breaker_alarm_names:
        return f"alarm {alarm.alarm_name!r} is not in the breaker's allowlist"
    if alarm.account_id != account_id:
        return f"alarm comes from account {alarm.account_id}, not {account_id}"
    if alarm.new_state != "ALARM":
        return f"alarm state is {alarm.new_state}, not ALARM"
    return None


def gather_evidence(engine: Engine, now: datetime) -> Evidence:
    """Who sent to strangers lately: the top source IPs and caller identities."""
    log = unvalidated_email_log
    since = now - EVIDENCE_WINDOW
    evidence = Evidence()
    with engine.connect() as connection:
        evidence.unregistered_sends = connection.execute(
            select(func.count()).select_from(log).where(log.c.timestamp >= since)
        ).scalar_one()
        for column, target in (
            (log.c.source_ip, evidence.source_ips),
            (log.c.caller_identity, evidence.caller_identities),
        ):
            count = func.count().label("sends")
            query = (
                select(column, count)
                .where(log.c.timestamp >= since)
                .group_by(column)
                .order_by(count.desc(), column)
                .limit(EVIDENCE_TOP)
            )
            target.extend((value, sends) for value, sends in connection.execute(query))
    return evidence


def announcement(
    alarm: AlarmNotification, targets: Sequence[str], evidence: Optional[Evidence], evidence_error: Optional[str] = None
) -> dict:
    """evidence is None when the database could not be read; evidence_error says why."""

    def ranked(rows: List[Tuple[Optional[str], int]]) -> str:
        return "\n".join(f"  {value or '(unknown)'}: {sends}" for value, sends in rows) or "  (none logged)"

    if evidence is None:
        findings = f"The evidence could not be read from the database: {evidence_error}\n"
    else:
        findings = (
            f"Mail to addresses that are not users in the last {int(EVIDENCE_WINDOW.total_seconds() // 3600)} h: "
            f"{evidence.unregistered_sends}\n"
            f"Top source IPs:\n{ranked(evidence.source_ips)}\n"
            f"Top caller identities:\n{ranked(evidence.caller_identities)}\n"
        )
    message = (
        f"ses-guard disabled SES sending for: {', '.join(targets)}\n\n"
        f"Alarm: {alarm.alarm_name} entered ALARM at {alarm.state_change_time}\n"
        f"Reason: {alarm.reason}\n\n"
        f"{findings}\n{REENABLE_HINT}"
    )
    return {"Subject": "CRITICAL: SES sending disabled by ses-guard", "Message": message}


def _evidence_within(engine: Engine, now: datetime, timeout: timedelta) -> Tuple[Optional[Evidence], Optional[str]]:
    """The evidence, or why there is none: a database that hangs must not hold back the announcement.

    Evidence is a help, not the action: its failure is logged and said in the announcement, not raised.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="breaker-evidence")
    try:
        return pool.submit(gather_evidence, engine, now).result(timeout=timeout.total_seconds()), None
    except FutureTimeout:
        reason = f"the database did not answer within {timeout.total_seconds():g} s"
        logger.error("breaker could not read the evidence", extra={"reason": reason})
        return None, reason
    except Exception as error:
        logger.exception("breaker could not read the evidence", extra={"reason": str(error)})
        # First line only: SQLAlchemy appends the SQL, which does not belong in the alert.
        return None, str(error).partition("\n")[0]
    finally:
        pool.shutdown(wait=False)  # a hung read is left behind; Lambda's timeout ends it


def trip(
    alarm: AlarmNotification,
    settings: Settings,
    ses: Any,
    sns: Any,
    engine: Engine,
    evidence_timeout: timedelta = EVIDENCE_TIMEOUT,
) -> List[str]:
    """Disable sending (account-wide or per configuration set), announce it, and record it.

    Once sending is off, someone must be told whatever state the database is in: the announcement goes out
    first (with whatever evidence could be read in time), then the audit row is attempted even if SNS failed;
    a failure of either is logged and re-raised so that the invocation fails visibly.
    """
    reason = f"{alarm.alarm_name} in ALARM: {alarm.reason}"
    entries = []
    if settings.breaker_configuration_sets:
        targets = [f"configuration set {name}" for name in settings.breaker_configuration_sets]
        for name in settings.breaker_configuration_sets:
            ses.update_configuration_set_sending_enabled(ConfigurationSetName=name, Enabled=False)
            entries.append(
                audit.AuditEntry(audit.SENDING_DISABLED, f"configuration-set:{name}", reason, None, "disabled")
            )
    else:
        targets = ["the whole account"]
        before = ses.get_account_sending_enabled().get("Enabled")
        ses.update_account_sending_enabled(Enabled=False)
        entries.append(
            audit.AuditEntry(audit.SENDING_DISABLED, "account", reason, "enabled" if before else "disabled", "disabled")
        )
    now = audit.utcnow()
    failures: List[Exception] = []
    evidence, evidence_error = _evidence_within(engine, now, evidence_timeout)
    logger.warning(
        "SES sending disabled",
        extra={
            "alarm": alarm.alarm_name,
            "targets": targets,
            "top_source_ips": None if evidence is None else evidence.source_ips,
        },
    )
    if settings.critical_topic_arn:
        try:
            sns.publish(TopicArn=settings.critical_topic_arn, **announcement(alarm, targets, evidence, evidence_error))
        except Exception as error:
            logger.exception(
                "breaker could not announce that sending is disabled",
                extra={"topic_arn": settings.critical_topic_arn, "targets": targets, "reason": str(error)},
            )
            failures.append(error)
    try:
        with engine.begin() as connection:
            audit.record(connection, entries, occurred_at=now)
    except Exception as error:
        logger.exception("breaker could not record the audit row", extra={"targets": targets, "reason": str(error)})
        failures.append(error)
    if failures:
        raise failures[0]
    return targets


def _confirmed_by_cloudwatch(alarm: AlarmNotification, cloudwatch: Any) -> Optional[str]:
    """A perfect copy of a notification proves nothing: CloudWatch must say the alarm is in ALARM now."""
    found = cloudwatch.describe_alarms(AlarmNames=[alarm.alarm_name]).get("MetricAlarms", [])
    if not found:
        return f"CloudWatch has no alarm {alarm.alarm_name!r}"
    if found[0].get("StateValue") != "ALARM":
        return f"CloudWatch says {alarm.alarm_name!r} is {found[0].get('StateValue')}, not ALARM"
    return None


def handle(
    event: Any,
    settings: Settings,
    account_id: str,
    clients: Mapping[str, Any],
    engine: Engine,
    evidence_timeout: timedelta = EVIDENCE_TIMEOUT,
) -> BreakerOutcome:
    """Act on each SNS record that is a genuine allowlisted ALARM; log and ignore everything else.

    clients: boto3 clients by service name ("ses", "sns", "cloudwatch").
    """
    outcome = BreakerOutcome()
    records = event.get("Records") if isinstance(event, Mapping) else None
    for record in records if isinstance(records, list) else []:
        sns_part = record.get("Sns") if isinstance(record, Mapping) else None
        sns_part = sns_part if isinstance(sns_part, Mapping) else {}
        try:
            _check_topic(sns_part.get("TopicArn"), settings)
            alarm = parse_alarm(sns_part.get("Message"))
        except ValueError as error:
            logger.warning("breaker ignored a message", extra={"reason": str(error)})
            outcome.ignored.append(str(error))
            continue
        reason = why_ignored(alarm, settings, account_id) or _confirmed_by_cloudwatch(alarm, clients["cloudwatch"])
        if reason:
            logger.info("breaker ignored an alarm", extra={"alarm": alarm.alarm_name, "reason": reason})
            outcome.ignored.append(reason)
            continue
        outcome.disabled_targets.extend(trip(alarm, settings, clients["ses"], clients["sns"], engine, evidence_timeout))
        outcome.acted_on.append(alarm.alarm_name)
    if not isinstance(records, list):
        logger.warning("breaker ignored an event", extra={"reason": "not an SNS event"})
        outcome.ignored.append("not an SNS event")
    return outcome
