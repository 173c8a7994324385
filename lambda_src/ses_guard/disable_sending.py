"""disable-sending, the circuit breaker: stop SES sending when the unregistered-recipient alarm fires.

It acts only on a genuine transition: a CloudWatch alarm notification from the critical topic, naming an
allowlisted alarm of this account and region, entering ALARM from another state, that CloudWatch confirms.
Anyone in the account who may write the alarm's custom metric (or set its state) could make all of that true,
so for an alarm on the guard's own metric it also requires the guard's own evidence: at least the alarm's
threshold of unregistered (message, recipient) pairs from this account, recorded within the alarm's window.
Without it the breaker refuses, and says so on the critical topic. It never re-enables sending: that is an
operator's decision after investigating.
"""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, TypeVar

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ses_guard import audit
from ses_guard.observability import NOT_REGISTERED_METRIC, logger
from ses_guard.provenance import Home
from ses_guard.schema import unvalidated_email_log
from ses_guard.settings import DisableSendingSettings

EVIDENCE_WINDOW = timedelta(hours=24)
EVIDENCE_TOP = 5
EVIDENCE_TIMEOUT = timedelta(seconds=10)
# CloudWatch's own limits on a state reason and a timestamp: anything longer did not come from CloudWatch,
# and is cut before it reaches the announcement (SNS takes 256 KB) or the audit row.
MAX_REASON = 1023
MAX_TIME = 64
AUDIT_FAILURE_METRIC = "BreakerAuditFailures"
_AWS_NAMESPACE_PREFIX = "AWS/"  # only AWS can write metrics there

REENABLE_HINT = (
    "After investigating (rotate leaked credentials, check the source IPs above), re-enable with:\n"
    "  aws ses update-account-sending-enabled --enabled\n"
    "or, for a configuration set:\n"
    "  aws ses update-configuration-set-sending-enabled --configuration-set-name NAME --enabled"
)
DISABLE_HINT = (
    "If mail really goes to unregistered recipients, disable sending by hand:\n"
    "  aws ses update-account-sending-enabled --no-enabled\n"
    "or, for a configuration set:\n"
    "  aws ses update-configuration-set-sending-enabled --configuration-set-name NAME --no-enabled"
)

T = TypeVar("T")
# The time now, naive UTC (audit.utcnow unless a caller, a test, gives another).
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SnsMessage:
    """One record of the SNS event the breaker is invoked with (lambda_events.sns_messages reads them)."""

    topic_arn: Any
    message: Any


@dataclass(frozen=True)
class AlarmNotification:
    alarm_name: str
    alarm_arn: str
    account_id: str
    old_state: str
    new_state: str
    reason: str
    state_change_time: str


@dataclass(frozen=True)
class EvidenceRule:
    """What the guard's database must hold before the breaker acts on an alarm on the guard's own metric."""

    threshold: float
    window: timedelta


@dataclass
class Evidence:
    """What the database holds; a field is None until it was read."""

    # (message, recipient) pairs from this account recorded within the rule's window, counted up to the
    # threshold: the decision needs no more, and a large leak must not make the count slow.
    unregistered_pairs: Optional[int] = None
    source_ips: List[Tuple[Optional[str], int]] = field(default_factory=list)
    caller_identities: List[Tuple[Optional[str], int]] = field(default_factory=list)
    unregistered_sends: Optional[int] = None


@dataclass
class BreakerOutcome:
    acted_on: List[str] = field(default_factory=list)
    refused: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)
    disabled_targets: List[str] = field(default_factory=list)


def _cut(value: str, limit: int, what: str) -> str:
    if len(value) <= limit:
        return value
    logger.warning("alarm text cut to CloudWatch's limit", extra={"field": what, "length": len(value), "kept": limit})
    return value[:limit]


def parse_alarm(message: Any) -> AlarmNotification:
    """The CloudWatch alarm notification in an SNS message; ValueError says why it is not one."""
    try:
        body = json.loads(message) if isinstance(message, str) else message
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        raise ValueError("message is not JSON") from None
    if not isinstance(body, Mapping):
        raise ValueError("message is not a JSON object")
    fields = ("AlarmName", "AlarmArn", "AWSAccountId", "OldStateValue", "NewStateValue", "NewStateReason")
    missing = [name for name in (*fields, "StateChangeTime") if not isinstance(body.get(name), str)]
    if missing:
        raise ValueError(f"not a CloudWatch alarm notification (no {', '.join(missing)})")
    return AlarmNotification(
        alarm_name=body["AlarmName"],
        alarm_arn=body["AlarmArn"],
        account_id=body["AWSAccountId"],
        old_state=body["OldStateValue"],
        new_state=body["NewStateValue"],
        reason=_cut(body["NewStateReason"], MAX_REASON, "NewStateReason"),
        state_change_time=_cut(body["StateChangeTime"], MAX_TIME, "StateChangeTime"),
    )


def _check_topic(topic_arn: Any, settings: DisableSendingSettings) -> None:
    if settings.critical_topic_arn and topic_arn != settings.critical_topic_arn:
        raise ValueError(f"message came from {topic_arn!r}, not the critical alert topic")


def why_ignored(alarm: AlarmNotification, settings: DisableSendingSettings, home: Home) -> Optional[str]:
    if alarm.alarm_name not in settings.alarm_names:
        return f"alarm {alarm.alarm_name[:256]!r} is not in the breaker's allowlist"
    if alarm.account_id != home.account_id:
        return f"alarm comes from account {alarm.account_id[:64]!r}, not {home.account_id}"
    expected_arn = home.arn("cloudwatch", f"alarm:{alarm.alarm_name}")
    if alarm.alarm_arn != expected_arn:
        return f"AlarmArn {alarm.alarm_arn[:512]!r} is not {expected_arn!r}"
    if alarm.new_state != "ALARM":
        return f"alarm state is {alarm.new_state[:64]!r}, not ALARM"
    if alarm.old_state == "ALARM":
        return "alarm was already in ALARM (OldStateValue): not a transition"
    return None


def _alarm_in_cloudwatch(alarm: AlarmNotification, cloudwatch: Any) -> Tuple[Optional[Mapping], Optional[str]]:
    """A perfect copy of a notification proves nothing: CloudWatch must say the alarm is in ALARM now.

    Returns the alarm as CloudWatch describes it, or why the notification is ignored.
    """
    found = cloudwatch.describe_alarms(AlarmNames=[alarm.alarm_name]).get("MetricAlarms", [])
    if not found:
        return None, f"CloudWatch has no alarm {alarm.alarm_name!r}"
    if found[0].get("StateValue") != "ALARM":
        return None, f"CloudWatch says {alarm.alarm_name!r} is {found[0].get('StateValue')}, not ALARM"
    return found[0], None


def evidence_rule(metric_alarm: Mapping) -> Optional[EvidenceRule]:
    """The evidence an alarm needs; None for an alarm on a metric only AWS writes (AWS/SES's rates and sends).

    The window is one period longer than the alarm evaluates: the breaching datapoint closes up to a period
    before CloudWatch evaluates it and the notification arrives. Raises ValueError for an alarm on another
    custom metric, or without a single metric's Threshold, Period and EvaluationPeriods.
    """
    namespace = metric_alarm.get("Namespace")
    if isinstance(namespace, str) and namespace.startswith(_AWS_NAMESPACE_PREFIX):
        return None
    if metric_alarm.get("MetricName") != NOT_REGISTERED_METRIC:
        raise ValueError(
            f"the alarm watches {metric_alarm.get('MetricName')!r} in {namespace!r}, a metric the guard "
            f"cannot check against its own records (only {NOT_REGISTERED_METRIC} or AWS metrics)"
        )
    try:
        threshold = float(metric_alarm["Threshold"])
        window = int(metric_alarm["Period"]) * (int(metric_alarm["EvaluationPeriods"]) + 1)
    except (KeyError, TypeError, ValueError):
        raise ValueError("the alarm has no Threshold, Period and EvaluationPeriods to check its evidence") from None
    return EvidenceRule(threshold=threshold, window=timedelta(seconds=window))


def gather_evidence(
    engine: Engine, now: datetime, account_id: str, rule: Optional[EvidenceRule], evidence: Evidence
) -> Evidence:
    """Fill `evidence` from the guard's own records: first the unregistered pairs within the rule's window (by
    the time the guard recorded them, as the metric counts them; what the decision needs), then who sent to
    unregistered recipients lately (the top source IPs and callers; what the on-call needs)."""
    log = unvalidated_email_log
    since = now - EVIDENCE_WINDOW
    with engine.connect() as connection:
        if rule is not None:
            # The database's clock, which wrote created_at: the functions' clock and time zone may differ.
            recorded_since = connection.execute(select(func.current_timestamp())).scalar_one() - rule.window
            pairs = (
                select(log.c.ses_message_id, log.c.destination_address)
                .where(log.c.sending_account_id == account_id, log.c.created_at >= recorded_since)
                .distinct()
                .limit(math.ceil(rule.threshold))
                .subquery()
            )
            evidence.unregistered_pairs = connection.execute(select(func.count()).select_from(pairs)).scalar_one()
        unregistered_sends = connection.execute(
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
        evidence.unregistered_sends = unregistered_sends  # last: set, the lists above are complete
    return evidence


def why_refused(
    rule: Optional[EvidenceRule], evidence: Optional[Evidence], evidence_error: Optional[str], account_id: str
) -> Optional[str]:
    """Why the evidence does not support disabling sending, or None when it does."""
    if rule is None:
        return None
    if evidence is None or evidence.unregistered_pairs is None:
        return f"the guard's database could not be read ({evidence_error}), so the alarm could not be checked"
    if evidence.unregistered_pairs < rule.threshold:
        return (
            f"the guard's database holds {evidence.unregistered_pairs} unregistered (message, recipient) pair(s) "
            f"from account {account_id} recorded in the last {_duration(rule.window)}, below the alarm's "
            f"threshold of {rule.threshold:g}"
        )
    return None


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _findings(evidence: Optional[Evidence], evidence_error: Optional[str]) -> str:
    def ranked(rows: List[Tuple[Optional[str], int]]) -> str:
        return "\n".join(f"  {value or '(unknown)'}: {sends}" for value, sends in rows) or "  (none logged)"

    if evidence is None or evidence.unregistered_sends is None:
        return f"The evidence could not be read from the database: {evidence_error}\n"
    return (
        f"Mail to addresses that are not users in the last {_duration(EVIDENCE_WINDOW)}: "
        f"{evidence.unregistered_sends}\n"
        f"Top source IPs:\n{ranked(evidence.source_ips)}\n"
        f"Top caller identities:\n{ranked(evidence.caller_identities)}\n"
    )


def announcement(
    alarm: AlarmNotification, targets: Sequence[str], evidence: Optional[Evidence], evidence_error: Optional[str] = None
) -> dict:
    """evidence is None when the database could not be read; evidence_error says why."""
    message = (
        f"ses-guard disabled SES sending for: {', '.join(targets)}\n\n"
        f"Alarm: {alarm.alarm_name} entered ALARM at {alarm.state_change_time}\n"
        f"Reason: {alarm.reason}\n\n"
        f"{_findings(evidence, evidence_error)}\n{REENABLE_HINT}"
    )
    return {"Subject": "CRITICAL: SES sending disabled by ses-guard", "Message": message}


def refusal_announcement(
    alarm: AlarmNotification,
    targets: Sequence[str],
    refusal: str,
    evidence: Optional[Evidence],
    evidence_error: Optional[str] = None,
) -> dict:
    message = (
        f"ses-guard did NOT disable SES sending for: {', '.join(targets)}\n\n"
        f"Alarm: {alarm.alarm_name} entered ALARM at {alarm.state_change_time}\n"
        f"Reason: {alarm.reason}\n\n"
        f"Refused: {refusal}.\n"
        "Either someone other than the guard wrote the alarm's metric or state (look in CloudTrail for "
        "PutMetricData, SetAlarmState or PutMetricAlarm), or the guard's processor or database is failing "
        "(see its alarms and log group).\n\n"
        f"{_findings(evidence, evidence_error)}\n{DISABLE_HINT}"
    )
    return {"Subject": "CRITICAL: ses-guard refused to disable SES sending", "Message": message}


def _within(timeout: timedelta, work: Callable[[], T]) -> T:
    """work's result, or FutureTimeout: a database that hangs must not hold the breaker until Lambda's timeout
    (which Lambda would retry, announcing again)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="breaker-database")
    try:
        return pool.submit(work).result(timeout=timeout.total_seconds())
    finally:
        pool.shutdown(wait=False)  # a hung call is left behind; Lambda's timeout ends it


def _cause(error: BaseException, timeout: timedelta) -> str:
    if isinstance(error, FutureTimeout):
        return f"the database did not answer within {timeout.total_seconds():g} s"
    # First line only: SQLAlchemy appends the SQL, which does not belong in the alert.
    return str(error).partition("\n")[0]


def _evidence_within(
    engine: Engine, now: datetime, home: Home, rule: Optional[EvidenceRule], timeout: timedelta
) -> Tuple[Evidence, Optional[str]]:
    """The evidence, and why some or all of it is missing (logged here, said in the announcement, never raised).

    The pairs the decision needs are read first: when only the slower ranking of senders runs out of time (a
    large leak), the breaker still decides, and says the ranking is missing.
    """
    evidence = Evidence()
    try:
        _within(timeout, lambda: gather_evidence(engine, now, home.account_id, rule, evidence))
    except Exception as error:
        reason = _cause(error, timeout)
        logger.error("breaker could not read the evidence", extra={"reason": reason})
        # Only what was read in time: the abandoned read may still be filling `evidence`.
        return Evidence(unregistered_pairs=evidence.unregistered_pairs), reason
    return evidence, None


def _record_within(
    engine: Engine, entries: List[audit.AuditEntry], now: datetime, timeout: timedelta, settings: DisableSendingSettings
):
    """The audit row, bounded; its failure is logged and counted, never raised: by then the announcement went
    out, and a failed invocation would be retried by Lambda and announce again. The metric
    AUDIT_FAILURE_METRIC is the alarm's signal."""

    def record() -> None:
        with engine.begin() as connection:
            audit.record(connection, entries, settings.actor, occurred_at=now)

    try:
        _within(timeout, record)
    except Exception as error:
        logger.error(
            "breaker could not record the audit row",
            extra={"targets": [entry.target for entry in entries], "reason": _cause(error, timeout)},
        )
        with single_metric(
            name=AUDIT_FAILURE_METRIC,
            unit=MetricUnit.Count,
            value=1,
            namespace=settings.metrics_namespace,
            default_dimensions={"service": settings.service_name},
        ):
            pass


def _announce(sns: Any, settings: DisableSendingSettings, message: dict, targets: Sequence[str]) -> Optional[Exception]:
    if not settings.critical_topic_arn:
        return None
    try:
        sns.publish(TopicArn=settings.critical_topic_arn, **message)
    except Exception as error:
        logger.exception(
            "breaker could not announce on the critical topic",
            extra={"topic_arn": settings.critical_topic_arn, "targets": targets, "reason": str(error)},
        )
        return error
    return None


def _targets(settings: DisableSendingSettings) -> List[Tuple[str, str]]:
    """(what the announcement names, what the audit row names) for each thing the breaker would disable."""
    if settings.configuration_sets:
        return [(f"configuration set {name}", f"configuration-set:{name}") for name in settings.configuration_sets]
    return [("the whole account", "account")]


def trip(
    alarm: AlarmNotification,
    settings: DisableSendingSettings,
    ses: Any,
    sns: Any,
    engine: Engine,
    evidence: Optional[Evidence] = None,
    evidence_error: Optional[str] = None,
    timeout: timedelta = EVIDENCE_TIMEOUT,
    clock: Clock = audit.utcnow,
) -> List[str]:
    """Disable sending (account-wide or per configuration set), announce it, and record it.

    Once sending is off, someone must be told whatever state the database is in: the announcement goes out
    first, then the audit row is attempted even if SNS failed. A failed announcement is re-raised (Lambda
    retries, and the retry announces); a failed audit row is not (see _record_within).
    """
    reason = f"{alarm.alarm_name} in ALARM: {alarm.reason}"
    if settings.configuration_sets:
        for name in settings.configuration_sets:
            ses.update_configuration_set_sending_enabled(ConfigurationSetName=name, Enabled=False)
        before_values: List[Optional[str]] = [None] * len(settings.configuration_sets)
    else:
        before = ses.get_account_sending_enabled().get("Enabled")
        ses.update_account_sending_enabled(Enabled=False)
        before_values = ["enabled" if before else "disabled"]
    entries = [
        audit.AuditEntry(audit.SENDING_DISABLED, target, reason, before_value, "disabled")
        for (_, target), before_value in zip(_targets(settings), before_values)
    ]
    targets = [label for label, _ in _targets(settings)]
    logger.warning(
        "SES sending disabled",
        extra={
            "alarm": alarm.alarm_name,
            "targets": targets,
            "top_source_ips": None if evidence is None or evidence.unregistered_sends is None else evidence.source_ips,
        },
    )
    failure = _announce(sns, settings, announcement(alarm, targets, evidence, evidence_error), targets)
    _record_within(engine, entries, clock(), timeout, settings)
    if failure:
        raise failure
    return targets


def refuse(
    alarm: AlarmNotification,
    settings: DisableSendingSettings,
    sns: Any,
    engine: Engine,
    refusal: str,
    evidence: Optional[Evidence],
    evidence_error: Optional[str] = None,
    timeout: timedelta = EVIDENCE_TIMEOUT,
    clock: Clock = audit.utcnow,
) -> None:
    """Leave sending on, announce why on the critical topic, and record it (like trip, with the same rules)."""
    targets = _targets(settings)
    labels = [label for label, _ in targets]
    logger.error("breaker refused to disable sending", extra={"alarm": alarm.alarm_name, "reason": refusal})
    failure = _announce(sns, settings, refusal_announcement(alarm, labels, refusal, evidence, evidence_error), labels)
    reason = f"{alarm.alarm_name} in ALARM, refused: {refusal}"
    entries = [audit.AuditEntry(audit.SENDING_DISABLE_REFUSED, target, reason) for _, target in targets]
    _record_within(engine, entries, clock(), timeout, settings)
    if failure:
        raise failure


def handle(
    messages: Optional[Sequence[SnsMessage]],
    settings: DisableSendingSettings,
    home: Home,
    clients: Mapping[str, Any],
    engine: Engine,
    evidence_timeout: timedelta = EVIDENCE_TIMEOUT,
    clock: Clock = audit.utcnow,
) -> BreakerOutcome:
    """Act on each SNS message that is a genuine allowlisted transition into ALARM backed by the guard's own
    evidence; refuse (and announce) one without the evidence; log and ignore everything else (messages is None
    for an event that is not an SNS event).

    clients: boto3 clients by service name ("ses", "sns", "cloudwatch").
    """
    outcome = BreakerOutcome()
    for sns_message in messages or []:
        try:
            _check_topic(sns_message.topic_arn, settings)
            alarm = parse_alarm(sns_message.message)
        except ValueError as error:
            logger.warning("breaker ignored a message", extra={"reason": str(error)})
            outcome.ignored.append(str(error))
            continue
        metric_alarm, reason = None, why_ignored(alarm, settings, home)
        if reason is None:
            metric_alarm, reason = _alarm_in_cloudwatch(alarm, clients["cloudwatch"])
        if reason or metric_alarm is None:
            logger.info("breaker ignored an alarm", extra={"alarm": alarm.alarm_name, "reason": reason})
            outcome.ignored.append(str(reason))
            continue
        now = clock()
        try:
            rule = evidence_rule(metric_alarm)
        except ValueError as error:
            evidence, evidence_error = _evidence_within(engine, now, home, None, evidence_timeout)
            refusal: Optional[str] = str(error)
        else:
            evidence, evidence_error = _evidence_within(engine, now, home, rule, evidence_timeout)
            refusal = why_refused(rule, evidence, evidence_error, home.account_id)
        if refusal:
            refuse(alarm, settings, clients["sns"], engine, refusal, evidence, evidence_error, evidence_timeout, clock)
            outcome.refused.append(refusal)
            continue
        outcome.disabled_targets.extend(
            trip(
                alarm,
                settings,
                clients["ses"],
                clients["sns"],
                engine,
                evidence,
                evidence_error,
                evidence_timeout,
                clock,
            )
        )
        outcome.acted_on.append(alarm.alarm_name)
    if messages is None:
        logger.warning("breaker ignored an event", extra={"reason": "not an SNS event"})
        outcome.ignored.append("not an SNS event")
    return outcome
