"""CloudWatch behaviour moto 5.2.5 lacks, patched into its response class.

moto's PutMetricAlarm ignores the alarm settings AWS added after its model of an alarm was written, so
DescribeAlarms never returns them. This keeps them on the alarm (a PutMetricAlarm without them drops
them, as AWS does: it replaces the whole alarm) for DescribeAlarms to return.

moto's DescribeAlarms ignores AlarmTypes. AWS refuses a value other than its two types and answers only the
types asked for (metric alarms when none is named), as this does.

Call :func:`apply` once before the backend is used.
"""

from __future__ import annotations

from botocore import xform_name
from moto.cloudwatch.exceptions import ValidationError
from moto.cloudwatch.responses import CloudWatchResponse

NEWER_ALARM_SETTINGS = (
    "ActionConfiguration",
    "EvaluationCriteria",
    "EvaluationInterval",
    "EvaluationWindow",
    "WarmUpConfiguration",
)


def _put_metric_alarm(original):
    def put_metric_alarm(self: CloudWatchResponse):
        result = original(self)
        alarm = self.cloudwatch_backend.alarms[self._get_param("AlarmName")]
        for name in NEWER_ALARM_SETTINGS:
            # moto's response serializer reads each DescribeAlarms member from the snake_case attribute.
            setattr(alarm, xform_name(name), self._get_param(name))
        return result

    return put_metric_alarm


ALARM_TYPES = ("CompositeAlarm", "MetricAlarm")


def _describe_alarms(original):
    def describe_alarms(self: CloudWatchResponse):
        types = self._get_param("AlarmTypes") or ["MetricAlarm"]
        unknown = [value for value in types if value not in ALARM_TYPES]
        if unknown:
            raise ValidationError(
                f"1 validation error detected: Value '{unknown}' at 'alarmTypes' failed to satisfy constraint: "
                f"Member must satisfy enum value set: {list(ALARM_TYPES)}"
            )
        result = original(self)
        for alarm_type in ALARM_TYPES:
            if alarm_type not in types:
                result.result[alarm_type + "s"] = []
        return result

    return describe_alarms


def apply() -> None:
    """Patch moto's CloudWatch responses; calling it again changes nothing."""
    if getattr(CloudWatchResponse, "_ses_guard_extended", False):
        return
    CloudWatchResponse.put_metric_alarm = _put_metric_alarm(CloudWatchResponse.put_metric_alarm)
    CloudWatchResponse.describe_alarms = _describe_alarms(CloudWatchResponse.describe_alarms)
    CloudWatchResponse._ses_guard_extended = True
