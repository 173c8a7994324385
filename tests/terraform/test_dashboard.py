"""The deployed dashboard shows only metrics that the module alarms on or that the functions publish, in the same
namespace and with the same dimensions: a graph of a metric nobody writes would stay flat while the account burns."""

from __future__ import annotations

import json
from typing import Dict, FrozenSet, Set, Tuple

import pytest

from ses_guard import settings as config
from ses_guard import sync_thresholds, watch_enforcement
from tests.terraform import harness

Metric = Tuple[str, str, FrozenSet[Tuple[str, str]]]

# What each function publishes, by the names the code uses.
PUBLISHED_BY = {
    "process-events": ("EmailNotRegisteredCount",),
    "sync-thresholds": (sync_thresholds.QUOTA_USED_METRIC,),
    "watch-enforcement": (watch_enforcement.STATUS_METRIC, watch_enforcement.SENDING_DISABLED_METRIC),
}


def dashboard(aws, deployment) -> dict:
    name = deployment.outputs["dashboard_url"].rsplit("name=", 1)[1]
    return json.loads(aws("cloudwatch", deployment.account_id).get_dashboard(DashboardName=name)["DashboardBody"])


def shown(body: dict) -> Set[Metric]:
    metrics = set()
    for widget in body["widgets"]:
        for row in widget["properties"]["metrics"]:
            words = [item for item in row if isinstance(item, str)]
            if not words:  # a math expression over the rows beside it
                continue
            namespace, name, *dimensions = words
            metrics.add((namespace, name, frozenset(zip(dimensions[::2], dimensions[1::2]))))
    return metrics


def alarmed(aws, deployment) -> Set[Metric]:
    names = list(deployment.outputs["alarm_names"].values())
    metrics = set()
    for alarm in aws("cloudwatch", deployment.account_id).describe_alarms(AlarmNames=names)["MetricAlarms"]:
        # A metric-math alarm (the enforcement alarm) watches the metrics of its queries.
        queried = [query["MetricStat"]["Metric"] for query in alarm.get("Metrics", []) if "MetricStat" in query]
        watched = [alarm] if alarm.get("MetricName") else queried
        for metric in watched:
            dimensions = frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            metrics.add((metric["Namespace"], metric["MetricName"], dimensions))
    return metrics


def published(aws, deployment) -> Set[Metric]:
    """What each deployed function publishes, where its code, reading its environment, publishes it."""
    metrics = set()
    for key, function_name in deployment.outputs["function_names"].items():
        configuration = aws("lambda", deployment.account_id).get_function_configuration(FunctionName=function_name)
        variables = configuration["Environment"]["Variables"]
        metrics_settings = config.metrics_settings(variables)
        service = frozenset({("service", metrics_settings.service_name)})
        for name in PUBLISHED_BY.get(key, ()):
            namespace = {
                sync_thresholds.QUOTA_USED_METRIC: config.sync_thresholds_settings(variables).metrics_namespace,
                watch_enforcement.STATUS_METRIC: config.watch_enforcement_settings(variables).metrics_namespace,
                watch_enforcement.SENDING_DISABLED_METRIC: config.watch_enforcement_settings(
                    variables
                ).metrics_namespace,
            }.get(name, metrics_settings.namespace)
            metrics.add((namespace, name, service))
    return metrics


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_every_metric_on_the_dashboard_is_alarmed_on_or_published(aws, deployed, example):
    deployment = deployed[example]
    on_dashboard = shown(dashboard(aws, deployment))

    unknown = on_dashboard - alarmed(aws, deployment) - published(aws, deployment)

    assert unknown == set(), "graphed, but neither alarmed on nor published with these dimensions"
    names = {name for _, name, _ in on_dashboard}
    assert set(PUBLISHED_BY["watch-enforcement"]) | {"Reputation.BounceRate", "ApproximateAgeOfOldestMessage"} <= names
    assert sync_thresholds.QUOTA_USED_METRIC in names


def test_the_rate_graphs_draw_the_alarms_lines(aws, complete):
    alarms = {
        alarm["AlarmName"]: alarm
        for alarm in aws("cloudwatch").describe_alarms(AlarmNames=list(complete.outputs["alarm_names"].values()))[
            "MetricAlarms"
        ]
    }
    names = complete.outputs["alarm_names"]
    lines: Dict[str, Dict[str, float]] = {}
    for widget in dashboard(aws, complete)["widgets"]:
        horizontal = widget["properties"].get("annotations", {}).get("horizontal", [])
        lines[widget["properties"]["title"]] = {line["label"]: line["value"] for line in horizontal}
    for tier in ("warning", "critical"):
        # SES reports the rates as fractions; the graph shows percent.
        assert lines["Bounce rate (%)"][tier] == pytest.approx(100 * alarms[names[f"bounce-rate-{tier}"]]["Threshold"])
        assert lines["Complaint rate (%)"][tier] == pytest.approx(
            100 * alarms[names[f"complaint-rate-{tier}"]]["Threshold"]
        )


def test_the_dashboard_url_opens_the_instances_dashboard(complete):
    assert complete.outputs["dashboard_url"] == (
        f"https://console.aws.amazon.com/cloudwatch/home?region={harness.REGION}#dashboards:name=ses-guard-complete"
    )
