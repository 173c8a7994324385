"""`make demo`: the seed's story end to end, locally, against the AWS emulator.

examples/complete is applied with the real Terraform and aws provider to a moto server (with the
project's SES extensions); the seed's scenarios are published as SES notifications to the deployed
events topic; the deployed queue is drained through the deployed event processor's handler with the
deployed function's environment (moto cannot run Lambda functions, so this script stands in for the
SQS event source mapping); then suppress-bouncing-users, sync-thresholds and disable-sending run the
same way.
Everything is torn down at the end, also when a step fails, except the database with --keep (KEEP=1).

    make demo                                                        # embedded SQLite, removed at the end
    DATABASE_URL=mysql+pymysql://root@127.0.0.1/guard_demo make demo # MariaDB/MySQL: that database, created
                                                                     # if missing (dropped at the end unless kept)
    KEEP=1 make demo                                                 # keep the database to explore with ses-guard
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional
from unittest import mock

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
from moto.awslambda.models import LambdaFunction  # noqa: E402
from sqlalchemy import inspect, text  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402

from ses_guard import database, migrate, report, schema, suppression  # noqa: E402
from ses_guard.settings import UsersTable  # noqa: E402
from tests import ses_samples as ses  # noqa: E402
from tests.conftest import emitted_metrics  # noqa: E402
from tests.support import moto_policies, moto_ses, moto_sesv2  # noqa: E402
from tests.support.moto_server import EmulatorServer  # noqa: E402
from tests.terraform import harness, lambda_emulation  # noqa: E402

STEPS = 10
KEPT_SQLITE_FILE = Path("ses-guard-demo.db")
# Interpolated into CREATE/DROP DATABASE: a plain name only.
_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, scratch: Path, stack: ExitStack, keep: bool) -> None:
        self.scratch = scratch
        self.stack = stack
        self.keep = keep
        self.started = time.monotonic()
        self.step_number = 0
        self.emf_output: List[str] = []
        self.kept_url: Optional[str] = None

    # -- plumbing -------------------------------------------------------------------------------
    def step(self, title: str, action: Callable[[], None]) -> None:
        self.step_number += 1
        print(f"\n[{self.step_number}/{STEPS}] {title}", flush=True)
        began = time.monotonic()
        try:
            with heartbeat(began):
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
            self.database_url = self.mysql_database(make_url(requested))
        elif requested:
            self.database_url = requested
            print(f"      database: {make_url(requested).render_as_string(hide_password=True)}")
        else:
            path = KEPT_SQLITE_FILE.resolve() if self.keep else self.scratch / "guard.db"
            if self.keep:
                path.unlink(missing_ok=True)  # the previous kept demo's file: the demo starts from empty tables
            self.database_url = f"sqlite:///{path}"
            print(
                f"      embedded SQLite{f' ({path}, kept)' if self.keep else ''}; DATABASE_URL=mysql+pymysql://... "
                "for MariaDB/MySQL"
            )
        self.engine = database.build_engine(self.database_url)
        self.stack.callback(self.engine.dispose)
        existing = sorted(set(inspect(self.engine).get_table_names()) & set(demo_tables()))
        if existing:
            raise StepFailed(
                f"the database already holds {', '.join(existing)}: the demo starts from empty tables; "
                "name another database in DATABASE_URL or drop them"
            )
        if not self.keep:
            self.stack.callback(self.drop_demo_tables)
        else:
            self.kept_url = make_url(self.database_url).render_as_string(hide_password=True)
        migrate.upgrade(self.engine)
        migrate.init_demo_users(self.engine, UsersTable())
        print(f"      schema at revision {migrate.current_revision(self.engine)}; users: user1..3@example.com")

    def mysql_database(self, url: URL) -> str:
        """The database the URL names (ses_guard_demo if none), created if missing; its URL."""
        name = url.database or "ses_guard_demo"
        if not _DATABASE_NAME.match(name):
            raise StepFailed(f"database name {name!r}: use letters, digits and _ only")
        # _replace, not set(database=None): in SQLAlchemy 2.0, set() keeps a name given as None.
        admin = database.build_engine(url._replace(database=None))
        self.stack.callback(admin.dispose)
        with admin.begin() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"), {"name": name}
            ).first()
            if not exists:
                connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        if not exists and not self.keep:

            def drop() -> None:
                with admin.begin() as connection:
                    connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))

            self.stack.callback(drop)
        fate = "kept at the end" if self.keep else ("dropped at the end" if not exists else "its demo tables dropped")
        print(f"      MariaDB/MySQL: database {name} on {url.host} ({'existing' if exists else 'created'}; {fate})")
        return url._replace(database=name).render_as_string(hide_password=False)

    def drop_demo_tables(self) -> None:
        with self.engine.begin() as connection:
            for table in demo_tables():
                connection.execute(text(f"DROP TABLE IF EXISTS {connection.dialect.identifier_preparer.quote(table)}"))

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
        # The events topic's policy lets only SES publish, for the configuration set or the identities.
        region, account = self.outputs["events_topic_arn"].split(":")[3:5]
        configuration_set = f"arn:aws:ses:{region}:{account}:configuration-set/{self.outputs['configuration_set_name']}"
        sns = moto_policies.as_service(self.client("sns"), "ses.amazonaws.com", configuration_set)
        sqs = self.client("sqs")
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

    def suppress_bouncing_users(self) -> None:
        response = self.invoke("suppress-bouncing-users", {"source": "aws.events", "detail-type": "Scheduled Event"})
        for user in response["invalidated"]:
            print(f"      validated = 0 for user {user['user_id']} <{user['email_address']}>: {user['reason']}")
        if [user["email_address"] for user in response["invalidated"]] != ["user3@example.com"]:
            raise StepFailed(f"expected user3 only, got {response['invalidated']}")

    def send_count_thresholds(self) -> Dict[str, float]:
        names = [name for key, name in self.outputs["alarm_names"].items() if key.startswith("send-count")]
        alarms = self.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        return {alarm["AlarmName"]: alarm["Threshold"] for alarm in alarms}

    def sync_thresholds(self) -> None:
        before = self.send_count_thresholds()
        moto_ses.set_send_quota(200_000, endpoint_url=self.server.endpoint_url)
        print("      the emulator's SES quota raised to 200,000 per 24 h (AWS granted an increase)")
        response = self.invoke("sync-thresholds", {"source": "aws.events", "detail-type": "Scheduled Event"})
        after = self.send_count_thresholds()
        for name in sorted(before):
            print(f"      {name}: {before[name]:,.0f} -> {after[name]:,.0f}")
        if not response["changes"]:
            raise StepFailed("the thresholds did not move")

    def aws_verdict(self) -> None:
        scheduled = {"source": "aws.events", "detail-type": "Scheduled Event"}
        first = self.invoke("watch-enforcement", scheduled)["verdict"]
        print(f"      GetAccount: {first['enforcement_status']}, sending enabled {first['sending_enabled']} (recorded)")
        moto_sesv2.set_account_status(
            "PROBATION",
            review_details={"Status": "PENDING", "CaseId": "1234567890"},
            endpoint_url=self.server.endpoint_url,
        )
        print("      AWS puts the account under PROBATION (the emulator's status; review case 1234567890)")
        runs = [self.invoke("watch-enforcement", scheduled) for _ in range(2)]
        print(f"      next run: announced on {runs[0]['announced_on']}; the run after: changed={runs[1]['changed']}")
        if not runs[0]["changed"] or runs[1]["changed"]:
            raise StepFailed(f"PROBATION must be announced once: {runs}")
        sesv2 = self.client("sesv2")
        sesv2.put_suppressed_destination(EmailAddress="user2@example.com", Reason="COMPLAINT")
        print("      someone adds user2@example.com to SES's suppression list in the console; user2 is still validated")
        result = suppression.diff(self.engine, UsersTable(), sesv2)
        print("\n".join(f"      {line}" for line in suppression.render_diff(result).splitlines()))
        if [entry.email_address for entry in result.suppressed_still_valid] != ["user2@example.com"]:
            raise StepFailed(f"expected user2 suppressed but valid, got {result.suppressed_still_valid}")

    def disable_sending(self) -> None:
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
        print(f"      {alarm_name} set to ALARM; its notification given to disable-sending as the critical topic would")
        event = ses.sns_event([json.dumps(notification)], topic_arn=self.outputs["critical_topic_arn"])
        response = self.invoke("disable-sending", event)
        enabled = self.client("ses").get_account_sending_enabled()["Enabled"]
        print(f"      disable-sending acted on {response['acted_on']}; GetAccountSendingEnabled -> Enabled={enabled}")
        if enabled:
            raise StepFailed("sending is still enabled")

    def report(self) -> None:
        with self.engine.connect() as connection:
            for title, headers, query in (
                (
                    "users",
                    ["user_id", "email_address", "validated"],
                    "SELECT user_id, email_address, validated FROM users ORDER BY user_id",
                ),
                (
                    "user_email_log (rows per user, status and diagnostic code)",
                    ["user_id", "status", "diagnostic_code", "rows"],
                    "SELECT user_id, status, diagnostic_code, COUNT(*) FROM user_email_log "
                    "GROUP BY user_id, status, diagnostic_code ORDER BY user_id, status, diagnostic_code",
                ),
                (
                    "automation_audit_log",
                    ["action", "target", "before", "after"],
                    "SELECT action, target, before_value, after_value FROM automation_audit_log ORDER BY audit_id",
                ),
            ):
                rows = [list(row) for row in connection.execute(text(query))]
                print(f"\n      {title}")
                print("\n".join(report.format_table(headers, rows, indent="        ")))
        print("\n      ses-guard report --hours 720 (what an on-call reads first)")
        on_call = report.build(self.engine, UsersTable(), hours=720)
        print("\n".join("        " + line for line in report.render(on_call).splitlines()[2:]))
        names = list(self.outputs["alarm_names"].values())
        alarms = self.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
        print("\n      alarms")
        print(
            "\n".join(
                report.format_table(
                    ["alarm", "metric", "threshold", "state"],
                    [[a["AlarmName"], watched_metric(a), readable_threshold(a), a["StateValue"]] for a in alarms],
                    indent="        ",
                )
            )
        )
        totals = emitted_metrics("\n".join(self.emf_output))
        emitted = ", ".join(f"{name} = {value:g}" for name, value in sorted(totals.items())) or "none"
        print(f"\n      metrics the functions emitted (EMF): {emitted}")
        print(f"      deliveries to functions the emulator recorded (not run): {len(self.recorded_deliveries)}")


def demo_tables() -> List[str]:
    """Every table the demo creates: the guard's, its revision table and the demo users table."""
    return [*schema.metadata.tables, schema.VERSION_TABLE, UsersTable().name]


def watched_metric(alarm: dict) -> str:
    """The alarm's metric, or those of its metric-math queries (the enforcement alarm)."""
    queried = [
        query["MetricStat"]["Metric"]["MetricName"] for query in alarm.get("Metrics", []) if "MetricStat" in query
    ]
    return alarm.get("MetricName") or "max of " + " / ".join(queried)


def readable_threshold(alarm: dict) -> str:
    """Reputation rates are fractions in CloudWatch; the README and SES speak in percent."""
    if alarm.get("MetricName", "").startswith("Reputation."):
        return f"{alarm['Threshold'] * 100:g}%"
    return f"{alarm['Threshold']:,.0f}"


@contextmanager
def heartbeat(began: float, every: float = 15.0) -> Iterator[None]:
    """A line every `every` seconds while a step runs, so a long step is not mistaken for a hang."""
    done = threading.Event()

    def tick() -> None:
        while not done.wait(every):
            print(f"      ... still working ({time.monotonic() - began:.0f} s)", flush=True)

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def closing_summary(demo: Demo) -> str:
    lines = [
        f"Demo finished in {time.monotonic() - demo.started:.0f} s.",
        "",
        "What you saw: SES notifications reached the database through the deployed topic and queue; user3's",
        "bouncing mailbox was set to validated = 0; a quota increase moved the send-count thresholds; mail to",
        "unregistered recipients raised EmailNotRegisteredCount and disable-sending disabled sending.",
        "",
        "Next steps:",
    ]
    if demo.kept_url:
        lines += [
            f"  export DATABASE_URL='{demo.kept_url}'   # the kept demo database (put the password back if any)",
            "  .venv/bin/ses-guard report --hours 720          # the incident report over the demo's events",
            "  .venv/bin/ses-guard suppress-bouncing-users --dry-run --days 60",
        ]
    else:
        lines.append("  KEEP=1 make demo                  # keep the demo database and explore it with ses-guard")
    lines += [
        "  README.md, 'Using the module in an AWS account'   # deploy it: terraform apply in your account",
        "  ses-guard doctor --outputs outputs.json           # then check the deployed wiring",
    ]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="The seed's story end to end against the AWS emulator.")
    parser.add_argument(
        "--keep",
        action="store_true",
        default=os.environ.get("KEEP", "").strip().lower() in ("1", "true", "yes"),
        help="keep the demo database at the end (also KEEP=1)",
    )
    args = parser.parse_args(argv)
    harness.require_toolchain()
    print("ses-reputation-guard demo: Lambda zip and Terraform toolchain ready (make build tools)")
    with tempfile.TemporaryDirectory(prefix="ses-guard-demo-") as scratch, ExitStack() as stack:
        demo = Demo(Path(scratch), stack, keep=args.keep)
        try:
            demo.step("Start the AWS emulator", demo.start_emulator)
            demo.step("Prepare the database (ses-guard db upgrade, db init-demo)", demo.prepare_database)
            demo.step("terraform apply examples/complete (Terraform 1.0.3, aws 3.39.0)", demo.apply)
            demo.step("Play the seed's three scenarios through the deployed topic and queue", demo.play_scenarios)
            demo.step("Users who keep bouncing: suppress-bouncing-users", demo.suppress_bouncing_users)
            demo.step("Quota grows: sync-thresholds", demo.sync_thresholds)
            demo.step("AWS's verdict and the suppression list: watch-enforcement, suppression diff", demo.aws_verdict)
            demo.step("Leak detected: disable-sending, the circuit breaker", demo.disable_sending)
            demo.step("What the seed shows", demo.report)
            demo.step("Tear down", stack.close)
        except StepFailed as failure:
            print(f"\nDEMO FAILED: {failure}", file=sys.stderr)
            return 1
        print("\n" + closing_summary(demo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
