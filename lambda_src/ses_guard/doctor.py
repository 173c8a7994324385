"""`ses-guard doctor`: is a deployed instance still wired as the guard needs? Reads AWS, changes nothing.

The expectations come from the module's `expected_wiring` output (`terraform output -json`): what Terraform
set. The checks find what was changed since by hand or by someone else, including what `terraform plan`
cannot see (the event source mapping lives in a CloudFormation stack; SES account sending is not a resource).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping

from ses_guard import sync_thresholds

NOTIFICATION_TYPES = ("Bounce", "Complaint", "Delivery")
OUTPUT_NAME = "expected_wiring"


class OutputsProblem(Exception):
    """The outputs file cannot be used; the message says why and what to pass instead."""


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def read_outputs(path: Path) -> Dict[str, Any]:
    """The `expected_wiring` value from `terraform output -json` (of the module or an example that passes it on)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise OutputsProblem(f"cannot read {path}: {error.strerror}: pass `terraform output -json > FILE`") from None
    except ValueError:
        raise OutputsProblem(f"{path} is not JSON: pass the output of `terraform output -json`") from None
    entry = document.get(OUTPUT_NAME) if isinstance(document, dict) else None
    if not isinstance(entry, dict):
        raise OutputsProblem(
            f"{path} has no {OUTPUT_NAME} output: upgrade the module, and pass its expected_wiring output on "
            "from your root module"
        )
    # `terraform output -json` wraps each output as {"value": ..., "type": ..., "sensitive": ...}.
    return entry.get("value", entry)


def run(expected: Mapping[str, Any], client: Callable[[str], Any]) -> List[Check]:
    """Every check, in the order an operator would fix things; a call AWS refuses is a failed check."""
    checks: List[Check] = []
    for check in (
        _identity_notifications,
        _event_destination,
        _event_source_mapping,
        _alarms,
        _send_count_thresholds,
        _account_sending,
    ):
        try:
            checks.extend(check(expected, client))
        except Exception as error:  # one failed read must not hide the other checks
            checks.append(Check(check.__name__.strip("_").replace("_", " "), False, _aws_failure(error)))
    return checks


def _aws_failure(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        details = response["Error"]
        return f"AWS refused the read ({details.get('Code')}: {details.get('Message')}): check permissions and region"
    return f"could not read it ({type(error).__name__}: {error})"


def _identity_notifications(expected: Mapping[str, Any], client) -> List[Check]:
    identities = list(expected.get("identities") or [])
    if not identities:
        return [Check("identity notifications", True, "no identities configured (identities = [])")]
    topic = expected["events_topic_arn"]
    attributes = client("ses").get_identity_notification_attributes(Identities=identities)["NotificationAttributes"]
    checks = []
    for identity in identities:
        found = attributes.get(identity, {})
        problems = []
        for kind in NOTIFICATION_TYPES:
            actual = found.get(f"{kind}Topic")
            if actual != topic:
                problems.append(f"{kind} goes to {actual or 'no topic'}")
            if not found.get(f"HeadersIn{kind}NotificationsEnabled"):
                problems.append(f"{kind} without original headers")
        checks.append(
            Check(
                f"identity {identity}",
                not problems,
                "; ".join(problems) + ": terraform apply restores it"
                if problems
                else "Bounce, Complaint, Delivery -> events topic, original headers on",
            )
        )
    return checks


def _event_destination(expected: Mapping[str, Any], client) -> List[Check]:
    name = expected.get("configuration_set_name")
    if not name:
        return [Check("configuration set", True, "none created (create_configuration_set = false)")]
    topic = expected["events_topic_arn"]
    described = client("ses").describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    )
    destinations = [
        d for d in described.get("EventDestinations", []) if d.get("SNSDestination", {}).get("TopicARN") == topic
    ]
    label = f"configuration set {name}"
    if not destinations:
        return [Check(label, False, "no event destination publishes to the events topic: terraform apply restores it")]
    destination = destinations[0]
    wanted = {t.lower() for t in expected.get("event_types") or []}
    actual = {t.lower() for t in destination.get("MatchingEventTypes", [])}
    problems = []
    if not destination.get("Enabled"):
        problems.append(f"event destination {destination.get('Name')} is disabled")
    if wanted - actual:
        problems.append(f"event types missing: {', '.join(sorted(wanted - actual))}")
    if problems:
        return [Check(label, False, "; ".join(problems) + ": terraform apply restores it")]
    return [Check(label, True, f"event destination {destination.get('Name')} enabled, {len(actual)} event types")]


def _event_source_mapping(expected: Mapping[str, Any], client) -> List[Check]:
    uuid = expected["event_source_mapping_id"]
    mapping = client("lambda").get_event_source_mapping(UUID=uuid)
    problems = []
    state = mapping.get("State")
    if state not in ("Enabled", "Enabling", "Updating"):
        problems.append(f"state is {state}")
    batch_size = expected.get("event_batch_size")
    if batch_size is not None and mapping.get("BatchSize") != int(batch_size):
        problems.append(f"batch size {mapping.get('BatchSize')}, expected {batch_size}")
    label = "event source mapping"
    if problems:
        return [
            Check(
                label,
                False,
                "; ".join(problems) + f": `aws lambda update-event-source-mapping --uuid {uuid} --enabled "
                f"--batch-size {batch_size}` (it lives in a CloudFormation stack: terraform plan does not see it)",
            )
        ]
    return [Check(label, True, f"{state}, batch size {mapping.get('BatchSize')}")]


def _alarms(expected: Mapping[str, Any], client) -> List[Check]:
    specs: Mapping[str, Mapping[str, Any]] = expected.get("alarms") or {}
    names = [spec["name"] for spec in specs.values()]
    found: Dict[str, Dict[str, Any]] = {}
    paginator = client("cloudwatch").get_paginator("describe_alarms")
    # DescribeAlarms takes at most 100 names per call.
    for start in range(0, len(names), 100):
        for page in paginator.paginate(AlarmNames=names[start : start + 100]):
            found.update({alarm["AlarmName"]: alarm for alarm in page["MetricAlarms"]})
    checks = []
    for _key, spec in sorted(specs.items()):
        alarm = found.get(spec["name"])
        problems = []
        if alarm is None:
            problems.append("does not exist")
        else:
            if (alarm.get("Namespace"), alarm.get("MetricName")) != (spec["namespace"], spec["metric_name"]):
                problems.append(f"watches {alarm.get('Namespace')}/{alarm.get('MetricName')}")
            dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
            if dimensions != dict(spec.get("dimensions") or {}):
                problems.append(f"dimensions {dimensions or 'none'}")
            for field, label in (("alarm_actions", "AlarmActions"), ("ok_actions", "OKActions")):
                if sorted(alarm.get(label, [])) != sorted(spec.get(field) or []):
                    problems.append(f"{label} {alarm.get(label, [])}")
            if not alarm.get("ActionsEnabled", True):
                problems.append("actions disabled")
        checks.append(
            Check(
                f"alarm {spec['name']}",
                not problems,
                "; ".join(problems) + ": terraform apply restores it"
                if problems
                else f"{spec['namespace']}/{spec['metric_name']}, actions set",
            )
        )
    return checks


def _send_count_thresholds(expected: Mapping[str, Any], client) -> List[Check]:
    shares: Mapping[str, float] = expected.get("send_count_alarms") or {}
    if not shares:
        return []
    quota = float(client("ses").get_send_quota()["Max24HourSend"])
    if quota <= 0:
        return [Check("send-count thresholds", True, "quota unlimited (Max24HourSend -1): thresholds not compared")]
    alarms = client("cloudwatch").describe_alarms(AlarmNames=list(shares))["MetricAlarms"]
    actual = {alarm["AlarmName"]: alarm["Threshold"] for alarm in alarms}
    problems = []
    for name, percent in sorted(shares.items()):
        wanted = sync_thresholds.threshold_for(quota, float(percent))
        # Terraform floors the threshold it creates; the quota sync rounds to cents.
        if name in actual and abs(actual[name] - wanted) >= 1:
            problems.append(f"{name} is {actual[name]:,.0f}, {percent:g}% of {quota:,.0f} is {wanted:,.0f}")
    if problems:
        return [
            Check(
                "send-count thresholds",
                False,
                "; ".join(problems) + ": run `ses-guard sync-thresholds` (or wait for the hourly quota sync)",
            )
        ]
    return [Check("send-count thresholds", True, f"match the quota of {quota:,.0f} per 24 h")]


def _account_sending(_expected: Mapping[str, Any], client) -> List[Check]:
    if client("ses").get_account_sending_enabled()["Enabled"]:
        return [Check("account sending", True, "enabled")]
    return [
        Check(
            "account sending",
            False,
            "disabled (the sending breaker, or AWS): once the cause is fixed, "
            "`aws ses update-account-sending-enabled --enabled`",
        )
    ]
