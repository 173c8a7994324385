"""CloudWatch behaviour moto 5.2.5 lacks, patched into its response class.

moto's PutMetricAlarm ignores the alarm settings AWS added after its model of an alarm was written, so
DescribeAlarms never returns them. This keeps them on the alarm (a PutMetricAlarm without them drops
them, as AWS does: it replaces the whole alarm) for DescribeAlarms to return.

Call :func:`apply` once before the backend is used.
"""

from __future__ import annotations

from botocore import xform_name
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


def apply() -> None:
    """Patch moto's CloudWatch responses; calling it again changes nothing."""
    if getattr(CloudWatchResponse, "_ses_guard_extended", False):
        return
    CloudWatchResponse.put_metric_alarm = _put_metric_alarm(CloudWatchResponse.put_metric_alarm)
    CloudWatchResponse._ses_guard_extended = True
