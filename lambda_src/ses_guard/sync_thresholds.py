"""sync-thresholds: the send-count alarms' thresholds follow the account's SES 24-hour quota."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional

from sqlalchemy.engine import Engine

from ses_guard import audit
from ses_guard.observability import logger
from ses_guard.settings import ConfigurationError, SyncThresholdsSettings

QUOTA_USED_METRIC = "SendQuotaUsedPercent"


@dataclass(frozen=True)
class ThresholdChange:
    alarm_name: str
    percent: float
    before: float
    after: float


@dataclass
class SyncReport:
    max_24_hour_send: float
    sent_last_24_hours: float
    changes: List[ThresholdChange] = field(default_factory=list)

    @property
    def quota_is_unlimited(self) -> bool:
        """SES reports Max24HourSend -1 for an unlimited quota: there is no share of it to alarm on."""
        return self.max_24_hour_send <= 0

    @property
    def quota_used_percent(self) -> float:
        return 0.0 if self.quota_is_unlimited else 100.0 * self.sent_last_24_hours / self.max_24_hour_send

    def as_dict(self) -> Dict[str, Any]:
        """The report as the handler and the command line return it."""
        return {
            "max_24_hour_send": self.max_24_hour_send,
            "sent_last_24_hours": self.sent_last_24_hours,
            "quota_is_unlimited": self.quota_is_unlimited,
            "changes": [asdict(change) for change in self.changes],
        }


def threshold_for(max_24_hour_send: float, percent: float) -> float:
    return round(max_24_hour_send * percent / 100.0, 2)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def announcement(report: SyncReport) -> Dict[str, str]:
    """Subject and message, e.g. 'quota 200 -> 50,000: thresholds 120/160 -> 30,000/40,000'."""
    changes = report.changes
    first = changes[0]
    previous_quota = first.before * 100.0 / first.percent
    decreased = report.max_24_hour_send < previous_quota
    line = (
        f"SES quota {_number(previous_quota)} -> {_number(report.max_24_hour_send)}: thresholds "
        f"{'/'.join(_number(c.before) for c in changes)} -> {'/'.join(_number(c.after) for c in changes)}"
    )
    subject = "WARNING: SES sending quota decreased" if decreased else "SES sending quota increased"
    details = "\n".join(
        f"- {c.alarm_name} ({_number(c.percent)}% of quota): {_number(c.before)} -> {_number(c.after)}" for c in changes
    )
    message = f"{line}\n\n{details}\n\nQuota used in the last 24 hours: {report.quota_used_percent:.1f}%"
    if decreased:
        message += "\nThe quota went down: check the account's status in the SES console (sending review?)."
    return {"Subject": subject, "Message": message}


def sync(settings: SyncThresholdsSettings, ses: Any, cloudwatch: Any, sns: Any, engine: Engine) -> SyncReport:
    """Bring every managed send-count alarm's threshold to its share of the current quota."""
    if not settings.send_count_alarms:
        raise ConfigurationError("SEND_COUNT_ALARMS names no alarm to manage")
    quota = ses.get_send_quota()
    report = SyncReport(float(quota["Max24HourSend"]), float(quota.get("SentLast24Hours", 0.0)))
    alarms = _describe(cloudwatch, list(settings.send_count_alarms))
    missing = sorted(set(settings.send_count_alarms) - set(alarms))
    if missing:
        raise ConfigurationError(f"send-count alarm(s) not found: {', '.join(missing)}")
    if report.quota_is_unlimited:
        logger.warning(
            "SES quota is unlimited: send-count thresholds left unchanged",
            extra={"max_24_hour_send": report.max_24_hour_send, "sent_last_24_hours": report.sent_last_24_hours},
        )
        return report

    failures: List[Exception] = []
    try:
        for name, percent in sorted(settings.send_count_alarms.items(), key=lambda item: item[1]):
            alarm = alarms[name]
            target = threshold_for(report.max_24_hour_send, percent)
            if alarm.get("Threshold") == target:
                continue
            cloudwatch.put_metric_alarm(**_with_threshold(cloudwatch, alarm, target))
            report.changes.append(ThresholdChange(name, percent, float(alarm.get("Threshold", 0.0)), target))
    except Exception as error:
        # The alarms already changed are still recorded and announced below: the next run finds them equal.
        logger.exception("send-count threshold not updated", extra={"reason": str(error)})
        failures.append(error)

    logger.info(
        "send-count thresholds synced",
        extra={
            "max_24_hour_send": report.max_24_hour_send,
            "sent_last_24_hours": report.sent_last_24_hours,
            "quota_used_percent": round(report.quota_used_percent, 2),
            "changed_alarms": [c.alarm_name for c in report.changes],
        },
    )
    if report.changes:
        failures += _record_and_announce(report, settings, sns, engine)
    _publish_quota_used(report, settings, cloudwatch)
    if failures:
        raise failures[0]
    return report


def _publish_quota_used(report: SyncReport, settings: SyncThresholdsSettings, cloudwatch: Any) -> None:
    """A side metric, sent after the thresholds moved: its failure is logged and fails nothing else."""
    # PutMetricData rather than EMF: `ses-guard sync-thresholds` runs outside Lambda too, where no log
    # stream would turn EMF lines into metrics.
    try:
        cloudwatch.put_metric_data(
            Namespace=settings.metrics_namespace,
            MetricData=[
                {
                    "MetricName": QUOTA_USED_METRIC,
                    "Dimensions": [{"Name": "service", "Value": settings.service_name}],
                    "Unit": "Percent",
                    "Value": report.quota_used_percent,
                }
            ],
        )
    except Exception as error:
        logger.warning(
            f"{QUOTA_USED_METRIC} not published",
            extra={"namespace": settings.metrics_namespace, "reason": str(error)},
        )


def _record_and_announce(
    report: SyncReport, settings: SyncThresholdsSettings, sns: Any, engine: Engine
) -> List[Exception]:
    """Both are attempted whatever happens to the other: the next run finds the thresholds equal and would
    neither record nor announce the change, so a failure is logged and returned, to be raised for the errors
    alarm."""
    notice = announcement(report)
    changed_alarms = [c.alarm_name for c in report.changes]
    failures: List[Exception] = []
    try:
        with engine.begin() as connection:
            audit.record(
                connection,
                [
                    audit.AuditEntry(
                        audit.THRESHOLD_CHANGED,
                        c.alarm_name,
                        notice["Message"].splitlines()[0],
                        _number(c.before),
                        _number(c.after),
                    )
                    for c in report.changes
                ],
                settings.actor,
            )
    except Exception as error:
        logger.exception(
            "threshold change not recorded in the audit log",
            extra={"changed_alarms": changed_alarms, "reason": str(error)},
        )
        failures.append(error)
    if settings.warning_topic_arn:
        try:
            sns.publish(TopicArn=settings.warning_topic_arn, **notice)
        except Exception as error:
            logger.exception(
                "threshold change not announced",
                extra={"changed_alarms": changed_alarms, "topic_arn": settings.warning_topic_arn, "reason": str(error)},
            )
            failures.append(error)
    return failures


def _describe(cloudwatch: Any, names: List[str]) -> Dict[str, Mapping]:
    alarms: Dict[str, Mapping] = {}
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmNames=names, AlarmTypes=["MetricAlarm"]):
        for alarm in page.get("MetricAlarms", []):
            alarms[alarm["AlarmName"]] = alarm
    return alarms


def _with_threshold(cloudwatch: Any, alarm: Mapping, threshold: float) -> Dict[str, Any]:
    # PutMetricAlarm replaces the whole alarm: copy every setting it accepts (from the client's own model, so
    # newer ones are kept too) and DescribeAlarms returned. Tags are never returned, so they stay untouched.
    accepted = cloudwatch.meta.service_model.operation_model("PutMetricAlarm").input_shape.members
    request: Dict[str, Optional[Any]] = {key: value for key, value in alarm.items() if key in accepted}
    request["Threshold"] = threshold
    # DescribeAlarms returns empty lists and None for unset fields; PutMetricAlarm rejects some of them.
    return {key: value for key, value in request.items() if value is not None and value != []}
