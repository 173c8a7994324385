"""`make demo`: the seed's story end to end, locally, against the AWS emulator.

examples/complete is applied with the real Terraform and aws provider to a moto server (with the
project's SES extensions); the seed's scenarios are published as SES notifications to the deployed
events topic; the deployed queue is drained through the deployed event processor's handler with the
deployed function's environment (moto cannot run Lambda functions, so this script stands in for the
SQS event source mapping); then hygiene, the quota sync and the sending breaker run the same way.
Everything is torn down at the end, also when a step fails.

    DATABASE_URL=mysql+pymysql://root@127.0.0.1/test make demo   # MariaDB instead of SQLite
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, List
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
from moto.awslambda.models import LambdaFunction  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from ses_guard import database, migrate  # noqa: E402
from ses_guard.settings import UsersTable  # noqa: E402
from tests import ses_samples as ses  # noqa: E402
from tests.conftest import emitted_metrics  # noqa: E402
from tests.support import moto_ses  # noqa: E402
from tests.support.moto_server import EmulatorServer  # noqa: E402
from tests.terraform import harness, lambda_emulation  # noqa: E402

STEPS = 9


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, scratch: Path, stack: ExitStack) -> None:
        self.scratch = scratch
        self.stack = stack
        self.started = time.monotonic()
        self.step_number = 0
        self.emf_output: List[str] = []

    # -- plumbing -------------------------------------------------------------------------------
    def step(self, title: str, action: Callable[[], None]) -> None:
        self.step_number += 1
        print(f"\n[{self.step_number}/{STEPS}] {title}", flush=True)
        began = time.monotonic()
        try:
            action()
        except BaseException as error:  # pytest.fail in the shared harness raises a BaseException
            if isinstance(error, KeyboardInterrupt):
                raise
            raise StepFailed(f"step {self.step_number}/{STEPS} '{title}' failed: {error}") from error
        print(f"      done in {time.monotonic() - began:.1f} s", flush=True)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.server.endpoint_url,
            region_name=harness.REGION,
            **{key.lower(): value for key, value in harness.EMULATOR_CREDENTIALS.items()},
        )

    def invoke(self, function_key: str, event: dict) -> dict:
        """The deployed function's handler, in a fresh interpreter with the deployed environment."""
        name = self.outputs["function_names"][function_key]
        configuration = self.client("lambda").get_function_configuration(FunctionName=name)
        invocation_dir = self.scratch / f"invoke-{uuid.uuid4().hex[:8]}"
        invocation_dir.mkdir()
        response, printed = lambda_emulation.invoke_like_lambda(
            configuration, event, self.server.endpoint_url, invocation_dir
        )
        self.emf_output.append(printed)
        return response

    # -- steps ----------------------------------------------------------------------------------
    def start_emulator(self) -> None:
        # moto runs Lambda functions in Docker, which this machine lacks: in this (the server's) process,
        # a delivery to a function is recorded instead, and this script runs the handlers itself.
        self.recorded_deliveries: List[str] = []

        def record_delivery(function, event=None):
            self.recorded_deliveries.append(function.function_name)
            return "{}", False, ""

        self.stack.enter_context(mock.patch.object(LambdaFunction, "_invoke_lambda", record_delivery))
        self.server = self.stack.enter_context(EmulatorServer())
        print(f"      moto server with the SES extensions on {self.server.endpoint_url}")

    def prepare_database(self) -> None:
        requested = os.environ.get("DATABASE_URL", "").strip()
        if requested and make_url(requested).get_backend_name() == "mysql":
            # A scratch database beside the one named: the demo never writes into existing data.
            server_url = make_url(requested).set(database=None)
            name = f"ses_guard_demo_{uuid.uuid4().hex[:8]}"
            admin = create_engine(server_url)
            with admin.begin() as connection:
                connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))

            def drop() -> None:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                admin.dispose()

            self.stack.callback(drop)
            self.database_url = make_url(requested).set(database=name).render_as_string(hide_password=False)
            print(f"      MariaDB/MySQL: scratch database {name} on {server_url.host} (dropped at the end)")
        elif requested:
            self.database_url = requested
            print(f"      database: {make_url(requested).render_as_string(hide_password=True)}")
        else:
            self.database_url = f"sqlite:///{self.scratch / 'guard.db'}"
            print("      embedded SQLite (set DATABASE_URL=mysql+pymysql://... for MariaDB)")
        self.engine = database.build_engine(self.database_url)
        self.stack.callback(self.engine.dispose)
        migrate.upgrade(self.engine)
        migrate.init_demo_users(self.engine, UsersTable())
        print(f"      schema at revision {migrate.current_revision(self.engine)}; users: user1..3@example.com")

    def apply(self) -> None:
        tree = harness.copy_module_tree(self.scratch / "module")
        variables = {
            "sender_address": "noreply@example.com",
            "alert_email": "oncall@example.com",
            "alert_phone_number": "+15555550100",
            "database_url": self.database_url,
        }
        self.deployment = harness.prepare_example(tree, "complete", self.server.endpoint_url, variables, self.scratch)
        self.stack.callback(self.destroy)
        self.deployment.init()
        self.deployment.apply()
        self.outputs = self.deployment.outputs
        # moto would run the function through Docker, which this machine lacks: pause the SQS event source
        # mapping, and let this script stand in for it.
        self.client("lambda").update_event_source_mapping(UUID=self.outputs["event_source_mapping_id"], Enabled=False)
        resources = len(self.deployment.state.resources) if hasattr(self.deployment.state, "resources") else "all"
        print(f"      examples/complete applied ({resources} resources) in {self.deployment.seconds['apply']} s")

    def destroy(self) -> None:
        print("\n[teardown] terraform destroy, emulator stopped, scratch files removed", flush=True)
        self.deployment.destroy()

    def drain_queue(self, label: str, notifications: List[dict]) -> None:
        sns, sqs = self.client("sns"), self.client("sqs")
        for notification in notifications:
            sns.publish(TopicArn=self.outputs["events_topic_arn"], Message=json.dumps(notification))
        queue_url = self.outputs["queue_url"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        messages = lambda_emulation.receive_all(sqs, queue_url, expected=len(notifications))
        response = self.invoke("process-events", lambda_emulation.sqs_lambda_event(messages, queue_arn, "us-east-1"))
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        failures = response.get("batchItemFailures")
        print(
            f"      {label}: {len(notifications)} notifications published, {len(messages)} drained, "
            f"batch item failures: {failures}"
        )
        if failures or len(messages) != len(notifications):
            raise StepFailed(f"{label}: expected {len(notifications)} clean records")

    def play_scenarios(self) -> None:
        print("      (standing in for Lambda's SQS event source mapping: the queue is read here and the batch")
        print("       handed to the deployed handler, ses_guard.handlers.process_events, with its environment)")
        self.drain_queue("Scenario 1, validation emails", ses.scenario_1())
        self.drain_queue(
            "Scenario 2, a month of newsletters",
            ses.scenario_2(datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)),
        )
        self.drain_queue("Scenario 3, leaked credentials", ses.scenario_3())

    def hygiene(self) -> None:
        response = self.invoke("suppress-bouncing-users", {"source": "aws.events", "detail-type": "Scheduled Event"})
        for user in response["invalidated"]:
            print(f"      validated = 0 for user {user['user_id']} <{user['email_address']}>: {user['reason']}")
        if [user["email_address"] for user in response["invalidated"]] != ["user3@example.com"]:
            raise StepFailed(f"expected user3 only, got {response['invalidated']}")

    def send_count_thresholds(self) -> Dict[str, float]:
        names = [name for key, name in self.outputs["alarm_names"].items() if key.startswith("send-count")]
        alarms = self.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        return {alarm["AlarmName"]: alarm["Threshold"] for alarm in alarms}

    def quota_sync(self) -> None:
        before = self.send_count_thresholds()
        moto_ses.set_send_quota(200_000, endpoint_url=self.server.endpoint_url)
        print("      the emulator's SES quota raised to 200,000 per 24 h (AWS granted an increase)")
        response = self.invoke("sync-thresholds", {"source": "aws.events", "detail-type": "Scheduled Event"})
        after = self.send_count_thresholds()
        for name in sorted(before):
            print(f"      {name}: {before[name]:,.0f} -> {after[name]:,.0f}")
        if not response["changes"]:
            raise StepFailed("the thresholds did not move")

    def breaker(self) -> None:
        cloudwatch = self.client("cloudwatch")
        alarm_name = self.outputs["alarm_names"]["unregistered-recipients-critical"]
        cloudwatch.set_alarm_state(
            AlarmName=alarm_name, StateValue="ALARM", StateReason="Threshold Crossed: 10 datapoints >= threshold (10.0)"
        )
        account = "123456789012"
        notification = {
            "AlarmName": alarm_name,
            "AWSAccountId": account,
            "NewStateValue": "ALARM",
            "OldStateValue": "OK",
            "NewStateReason": "Threshold Crossed: 1 datapoint [10.0] was greater than or equal to the threshold.",
            "StateChangeTime": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{alarm_name}",
        }
        print(f"      {alarm_name} set to ALARM; its notification handed to the breaker as the critical topic would")
        event = ses.sns_event([json.dumps(notification)], topic_arn=self.outputs["critical_topic_arn"])
        response = self.invoke("disable-sending", event)
        enabled = self.client("ses").get_account_sending_enabled()["Enabled"]
        print(f"      breaker acted on {response['acted_on']}; GetAccountSendingEnabled -> Enabled={enabled}")
        if enabled:
            raise StepFailed("sending is still enabled")

    def report(self) -> None:
        with self.engine.connect() as connection:
            for title, query in (
                ("users", "SELECT user_id, email_address, validated FROM users ORDER BY user_id"),
                (
                    "user_email_log (rows per user, status and diagnostic code)",
                    "SELECT user_id, status, diagnostic_code, COUNT(*) FROM user_email_log "
                    "GROUP BY user_id, status, diagnostic_code ORDER BY user_id, status, diagnostic_code",
                ),
                (
                    "unvalidated_email_log",
                    "SELECT destination_address, source_ip, status, timestamp FROM unvalidated_email_log "
                    "ORDER BY timestamp",
                ),
                (
                    "automation_audit_log",
                    "SELECT action, target, before_value, after_value FROM automation_audit_log ORDER BY audit_id",
                ),
            ):
                print(f"\n      {title}")
                for row in connection.execute(text(query)):
                    print("        " + " | ".join("NULL" if value is None else str(value) for value in row))
        print("\n      alarms (threshold, state)")
        names = list(self.outputs["alarm_names"].values())
        for alarm in self.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]:
            print(f"        {alarm['AlarmName']:<58} {alarm['Threshold']:>12,.4g} {alarm['StateValue']}")
        totals = emitted_metrics("\n".join(self.emf_output))
        print(f"\n      metrics the functions emitted (EMF): {totals}")
        print(f"      deliveries to functions the emulator recorded (not run): {self.recorded_deliveries}")


def main() -> int:
    harness.require_toolchain()
    print("ses-reputation-guard demo: Lambda zip and Terraform toolchain ready (make build tools)")
    with tempfile.TemporaryDirectory(prefix="ses-guard-demo-") as scratch, ExitStack() as stack:
        demo = Demo(Path(scratch), stack)
        try:
            demo.step("Start the AWS emulator", demo.start_emulator)
            demo.step("Prepare the database (ses-guard db upgrade, db init-demo)", demo.prepare_database)
            demo.step("terraform apply examples/complete (Terraform 1.0.3, aws 3.39.0)", demo.apply)
            demo.step("Play the seed's three scenarios through the deployed topic and queue", demo.play_scenarios)
            demo.step("Bounce hygiene (suppress_bouncing_users)", demo.hygiene)
            demo.step("Quota grows: threshold sync (sync_thresholds)", demo.quota_sync)
            demo.step("Leak detected: the sending breaker (disable_sending)", demo.breaker)
            demo.step("What the seed shows", demo.report)
            demo.step("Tear down", stack.close)
        except StepFailed as failure:
            print(f"\nDEMO FAILED: {failure}", file=sys.stderr)
            return 1
        print(f"\nDemo finished in {time.monotonic() - demo.started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
