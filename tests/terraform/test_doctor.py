"""`ses-guard doctor` against a real `terraform apply` of examples/complete on the emulator, then after each
thing someone may change by hand behind Terraform's back.

The deployment gets its own moto server process (the session's shared emulator serves test_examples.py,
which these tampers would disturb): applied once for the module, tampered and restored one item at a time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator

import boto3
import pytest

from ses_guard.cli_errors import ExitCode
from tests.support import moto_ses
from tests.terraform import harness
from tests.terraform.conftest import SENDER

REPO = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "ses-guard"


class Instance:
    """examples/complete applied to its own emulator, and the operator's view of it."""

    def __init__(self, endpoint_url: str, deployment: harness.Deployment, outputs_file: Path) -> None:
        self.endpoint_url = endpoint_url
        self.deployment = deployment
        self.outputs_file = outputs_file
        self.wiring = json.loads(outputs_file.read_text())["expected_wiring"]["value"]

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=harness.REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def doctor(self, *options: str) -> subprocess.CompletedProcess:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": harness.REGION,
            **harness.EMULATOR_CREDENTIALS,
        }
        return subprocess.run(
            [str(CLI), "doctor", "--outputs", str(self.outputs_file), *options],
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def instance(tmp_path_factory) -> Iterator[Instance]:
    harness.require_toolchain()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.moto_server", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        endpoint_url = server.stdout.readline().strip().rpartition(" ")[2]
        assert endpoint_url.startswith("http://"), endpoint_url
        tree = harness.copy_module_tree(tmp_path_factory.mktemp("doctor-module"))
        work_root = tmp_path_factory.mktemp("doctor-terraform")
        variables = {
            "sender_address": SENDER,
            "alert_email": "oncall@example.com",
            "alert_phone_number": "+15555550100",
            "database_url": f"sqlite:///{work_root / 'guard.db'}",
        }
        deployment = harness.prepare_example(tree, "complete", endpoint_url, variables, work_root)
        deployment.init()
        deployment.apply()
        outputs = subprocess.run(
            [str(harness.TERRAFORM), "output", "-json", f"-state={deployment.runner.state_path}"],
            cwd=deployment.runner.module_dir,
            env={**harness.terraform_environment(), "TF_DATA_DIR": deployment.runner.work_dir},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        outputs_file = work_root / "outputs.json"
        outputs_file.write_text(outputs)
        # The emulator's quota, as the example's daily_send_quota assumed.
        moto_ses.set_send_quota(50_000, endpoint_url=endpoint_url)
        yield Instance(endpoint_url, deployment, outputs_file)
    finally:
        server.terminate()
        server.wait(timeout=30)


def lines_by_check(completed: subprocess.CompletedProcess) -> Dict[str, str]:
    """Each check line ('ok  ' or 'FAIL', two spaces, name: detail) by its check's name."""
    found = {}
    for line in completed.stdout.splitlines()[:-1]:
        status, name, detail = re.fullmatch(r"(ok|FAIL) +(.+?): (.*)", line).groups()
        found[name] = f"{status} {detail}"
    return found


def test_doctor_passes_on_a_fresh_apply_one_line_per_check(instance):
    completed = instance.doctor()

    assert completed.returncode == ExitCode.OK, completed.stdout + completed.stderr
    checks = lines_by_check(completed)
    alarm_names = [spec["name"] for spec in instance.wiring["alarms"].values()]
    assert set(checks) == {
        f"identity {SENDER}",
        f"configuration set {instance.wiring['configuration_set_name']}",
        "event source mapping",
        *(f"alarm {name}" for name in alarm_names),
        "send-count thresholds",
        "account sending",
    }
    assert all(line.startswith("ok ") for line in checks.values()), checks
    assert completed.stdout.splitlines()[-1] == f"{len(checks)} of {len(checks)} checks passed"

    as_json = json.loads(instance.doctor("--json").stdout)
    assert as_json["ok"] is True
    assert len(as_json["checks"]) == len(checks)


TAMPERS: Dict[str, Callable] = {}


def tamper(check: str, fragment: str):
    def register(function):
        TAMPERS[function.__name__] = (function, check, fragment)
        return function

    return register


@tamper("identity", "Bounce goes to arn:aws:sns:us-east-1:123456789012:someone-elses-topic")
def notification_topic_changed(instance):
    ses = instance.client("ses")
    other = instance.client("sns").create_topic(Name="someone-elses-topic")["TopicArn"]
    ses.set_identity_notification_topic(Identity=SENDER, NotificationType="Bounce", SnsTopic=other)
    yield
    ses.set_identity_notification_topic(
        Identity=SENDER, NotificationType="Bounce", SnsTopic=instance.wiring["events_topic_arn"]
    )


@tamper("identity", "Complaint without original headers")
def headers_turned_off(instance):
    ses = instance.client("ses")
    ses.set_identity_headers_in_notifications_enabled(Identity=SENDER, NotificationType="Complaint", Enabled=False)
    yield
    ses.set_identity_headers_in_notifications_enabled(Identity=SENDER, NotificationType="Complaint", Enabled=True)


@tamper("configuration set", "is disabled")
def event_destination_disabled(instance):
    ses = instance.client("ses")
    name = instance.wiring["configuration_set_name"]
    (destination,) = ses.describe_configuration_set(
        ConfigurationSetName=name, ConfigurationSetAttributeNames=["eventDestinations"]
    )["EventDestinations"]
    ses.delete_configuration_set_event_destination(ConfigurationSetName=name, EventDestinationName=destination["Name"])
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=name, EventDestination={**destination, "Enabled": False}
    )
    yield
    ses.delete_configuration_set_event_destination(ConfigurationSetName=name, EventDestinationName=destination["Name"])
    ses.create_configuration_set_event_destination(ConfigurationSetName=name, EventDestination=destination)


@tamper("event source mapping", "state is Disabled")
def mapping_disabled_by_hand(instance):
    awslambda = instance.client("lambda")
    awslambda.update_event_source_mapping(UUID=instance.wiring["event_source_mapping_id"], Enabled=False)
    yield
    awslambda.update_event_source_mapping(UUID=instance.wiring["event_source_mapping_id"], Enabled=True)


@tamper("event source mapping", "batch size 1, expected")
def mapping_batch_size_changed(instance):
    awslambda = instance.client("lambda")
    uuid = instance.wiring["event_source_mapping_id"]
    before = awslambda.get_event_source_mapping(UUID=uuid)["BatchSize"]
    awslambda.update_event_source_mapping(UUID=uuid, BatchSize=1)
    yield
    awslambda.update_event_source_mapping(UUID=uuid, BatchSize=before)


def _alarm(instance, key):
    spec = instance.wiring["alarms"][key]
    cloudwatch = instance.client("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[spec["name"]])["MetricAlarms"]
    keep = (
        "AlarmName", "AlarmDescription", "ActionsEnabled", "OKActions", "AlarmActions", "InsufficientDataActions",
        "MetricName", "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods", "DatapointsToAlarm",
        "Threshold", "ComparisonOperator", "TreatMissingData",
    )  # fmt: skip
    return cloudwatch, {field: alarm[field] for field in keep if field in alarm}


@tamper("alarm", "does not exist")
def alarm_deleted(instance):
    cloudwatch, alarm = _alarm(instance, "bounce-rate-critical")
    cloudwatch.delete_alarms(AlarmNames=[alarm["AlarmName"]])
    yield
    cloudwatch.put_metric_alarm(**alarm)


@tamper("alarm", "AlarmActions []")
def alarm_actions_removed(instance):
    cloudwatch, alarm = _alarm(instance, "unregistered-recipients-critical")
    cloudwatch.put_metric_alarm(**{**alarm, "AlarmActions": []})
    yield
    cloudwatch.put_metric_alarm(**alarm)


@tamper("alarm", "dimensions {'service': 'other-service'}")
def alarm_dimensions_changed(instance):
    cloudwatch, alarm = _alarm(instance, "unregistered-recipients-warning")
    cloudwatch.put_metric_alarm(**{**alarm, "Dimensions": [{"Name": "service", "Value": "other-service"}]})
    yield
    cloudwatch.put_metric_alarm(**alarm)


@tamper("send-count thresholds", "run `ses-guard sync-thresholds`")
def quota_raised_without_sync(instance):
    moto_ses.set_send_quota(200_000, endpoint_url=instance.endpoint_url)
    yield
    moto_ses.set_send_quota(50_000, endpoint_url=instance.endpoint_url)


@tamper("account sending", "disabled")
def account_sending_paused(instance):
    ses = instance.client("ses")
    ses.update_account_sending_enabled(Enabled=False)
    yield
    ses.update_account_sending_enabled(Enabled=True)


@pytest.mark.parametrize("name", list(TAMPERS))
def test_doctor_fails_the_one_check_a_change_by_hand_breaks(instance, name):
    function, check, fragment = TAMPERS[name]
    steps = function(instance)
    next(steps)
    try:
        completed = instance.doctor()
    finally:
        next(steps, None)

    assert completed.returncode == ExitCode.FAILED, completed.stdout + completed.stderr
    assert completed.stderr == ""
    failed = {name: line for name, line in lines_by_check(completed).items() if line.startswith("FAIL")}
    assert len(failed) == 1, failed
    [(failed_name, line)] = failed.items()
    assert failed_name.startswith(check), failed
    assert fragment in line, line


def test_doctor_without_an_outputs_file_is_one_line(instance, tmp_path):
    instance.outputs_file, original = tmp_path / "missing.json", instance.outputs_file
    try:
        completed = instance.doctor()
    finally:
        instance.outputs_file = original
    assert completed.returncode == ExitCode.USAGE
    assert completed.stderr.count("\n") == 1 and "terraform output -json" in completed.stderr
