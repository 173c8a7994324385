"""The design this project replaces, written from issue 15's description, and the processor measured beside it.

A Lambda subscribed straight to the SNS topic (one record per invocation) that, on every invocation, fetches
the database credentials from Secrets Manager and opens a connection, then for each recipient runs one SELECT
on the users table, one INSERT and one commit, and calls PutMetricData once per unregistered recipient. Its
log tables are the project's without the event key, as the seed had them: a redelivery stores its rows again.
Secrets Manager and CloudWatch are the moto server (tests/support), in its own process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Dict, List, Tuple

import boto3
import pymysql
from sqlalchemy.engine import make_url

from bench.workload import BenchDatabase, batches, sns_envelopes
from tests import ses_samples as ses

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
SECRET_NAME = "ses-guard-bench/simple-design-db"  # noqa: S105 (a name)
TABLES = {"user": "simple_user_email_log", "unregistered": "simple_unvalidated_email_log"}
LOG_TABLES = {"user": "user_email_log", "unregistered": "unvalidated_email_log"}
NOT_REGISTERED_METRIC = "EmailNotRegisteredCount"
_COLUMNS = (
    "aws_sns_message_id", "source_address", "subject", "source_ip", "source_arn", "timestamp", "status",
    "ses_message_id", "sending_account_id", "destination_address",
)  # fmt: skip


class Emulator:
    """`python -m tests.support.moto_server` in its own process: its work is not counted as the client's CPU."""

    def __enter__(self) -> Emulator:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.moto_server", "--port", "0"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        line = self.process.stdout.readline() if self.process.stdout else ""
        if " on http" not in line:
            self.process.kill()
            raise RuntimeError(f"the moto server did not start: {line!r}")
        self.endpoint_url = line.rsplit(" ", 1)[1].strip()
        return self

    def client(self, service: str):
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 (the emulator's)
        )  # fmt: skip

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class SimpleDesign:
    """The replaced design's Lambda handler, with its clients created once per container (as it would)."""

    def __init__(self, emulator: Emulator, db: BenchDatabase) -> None:
        url = make_url(db.url)
        secret = {"engine": "mariadb", "host": url.host, "port": url.port or 3306, "username": url.username,
                  "password": url.password or "", "dbname": url.database}  # fmt: skip
        self.secrets = emulator.client("secretsmanager")
        self.secret_arn = self.secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps(secret))["ARN"]
        self.cloudwatch = emulator.client("cloudwatch")
        self.put_metric_data_calls = 0
        connection = self._connect()
        with connection.cursor() as cursor:
            for kind, table in TABLES.items():
                cursor.execute(f"CREATE TABLE {table} LIKE {LOG_TABLES[kind]}")
                cursor.execute(f"ALTER TABLE {table} DROP COLUMN event_key")
        connection.close()

    def _connect(self):
        secret = json.loads(self.secrets.get_secret_value(SecretId=self.secret_arn)["SecretString"])
        return pymysql.connect(
            host=secret["host"], port=int(secret["port"]), user=secret["username"], password=secret["password"],
            database=secret["dbname"], charset="utf8mb4",
        )  # fmt: skip

    def handle(self, event: dict) -> None:
        connection = self._connect()
        try:
            for record in event["Records"]:
                message = json.loads(record["Sns"]["Message"])
                for address in message["mail"]["destination"]:
                    self._log(connection, record["Sns"]["MessageId"], message, address)
        finally:
            connection.close()

    def _log(self, connection, sns_message_id: str, message: dict, address: str) -> None:
        mail = message["mail"]
        row = {
            "aws_sns_message_id": sns_message_id,
            "source_address": mail["source"],
            "subject": mail["commonHeaders"].get("subject"),
            "source_ip": mail.get("sourceIp"),
            "source_arn": mail["sourceArn"],
            "timestamp": datetime.strptime(mail["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ"),
            "status": message["notificationType"],
            "ses_message_id": mail["messageId"],
            "sending_account_id": mail["sendingAccountId"],
            "destination_address": address,
        }
        with connection.cursor() as cursor:
            cursor.execute("SELECT user_id FROM users WHERE email_address = %s", (address,))
            user = cursor.fetchone()
            columns = (*_COLUMNS, "user_id") if user else _COLUMNS
            if user:
                row["user_id"] = user[0]
            table = TABLES["user" if user else "unregistered"]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(f'%({c})s' for c in columns)})",  # noqa: S608
                row,
            )
        connection.commit()
        if user is None:
            metric = {"MetricName": NOT_REGISTERED_METRIC, "Value": 1, "Unit": "Count"}
            self.cloudwatch.put_metric_data(Namespace="SESGuardBench", MetricData=[metric])
            self.put_metric_data_calls += 1

    def stored_rows(self) -> int:
        return _count_rows(self._connect(), TABLES.values())


class Processor:
    """The project's handler path for an SQS batch: parse, store, EMF metric flushed (to nowhere) per invocation."""

    def __init__(self, db: BenchDatabase) -> None:
        from ses_guard import observability
        from ses_guard.settings import UsersTable, metrics_settings
        from ses_guard.store import EventStore

        observability.configure(metrics_settings({}))  # as the handlers' container does
        self.db = db
        self.engine = db.engine()
        self.store = EventStore(self.engine, UsersTable())
        self.counted = 0

    def handle(self, event: dict) -> None:
        from ses_guard import lambda_events, provenance
        from ses_guard.observability import metrics

        emitted = io.StringIO()
        with contextlib.redirect_stdout(emitted):
            lambda_events.process_event(event, self.store, provenance.Source(account_id=ses.ACCOUNT))
            metrics.flush_metrics()
        # The EMF document CloudWatch would read from the log: what the alarm would count.
        for line in emitted.getvalue().splitlines():
            self.counted += int(sum(json.loads(line)[NOT_REGISTERED_METRIC]))  # EMF: the values as a list

    def stored_rows(self) -> int:
        url = make_url(self.db.url)
        return _count_rows(
            pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                            database=url.database),
            LOG_TABLES.values(),
        )  # fmt: skip


def _count_rows(connection, tables) -> int:
    with connection.cursor() as cursor:
        total = 0
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 (our own table names)
            total += cursor.fetchone()[0]
    connection.close()
    return total


def sqs_events(envelopes: List[dict], size: int) -> List[dict]:
    return [ses.sqs_event([json.dumps(envelope) for envelope in chunk]) for chunk in batches(envelopes, size)]


def sns_events(envelopes: List[dict]) -> List[dict]:
    return [ses.sns_event([envelope["Message"]], message_id=envelope["MessageId"]) for envelope in envelopes]


def paired_round(processor: Processor, simple: SimpleDesign, size: int, tag: str, events: int) -> Dict[str, float]:
    """Both designs on the same events, alternating slice by slice: rates (events/s) and CPU seconds per event."""
    envelopes = sns_envelopes(events, tag)
    processor_work = sqs_events(envelopes, size)
    simple_work = sns_events(envelopes)
    slices = min(10, len(processor_work))
    wall = {"processor": 0.0, "simple": 0.0}
    cpu = {"processor": 0.0, "simple": 0.0}
    for part in range(slices):
        for name, handler, work in (("processor", processor.handle, processor_work[part::slices]),
                                    ("simple", simple.handle, simple_work[part::slices])):  # fmt: skip
            started, cpu_started = time.perf_counter(), time.process_time()
            for event in work:
                handler(event)
            wall[name] += time.perf_counter() - started
            cpu[name] += time.process_time() - cpu_started
    return {
        "processor_rate": events / wall["processor"],
        "simple_rate": events / wall["simple"],
        "processor_cpu_per_event": cpu["processor"] / events,
        "simple_cpu_per_event": cpu["simple"] / events,
    }


def redelivery(processor: Processor, simple: SimpleDesign, events: int, share: float, size: int) -> Dict[str, int]:
    """The same events delivered, then `share` of them delivered again (SNS and SQS deliver at least once)."""
    envelopes = sns_envelopes(events, "redelivery")
    again = envelopes[: int(events * share)]
    before = {"processor": processor.stored_rows(), "simple": simple.stored_rows()}
    counted_before, calls_before = processor.counted, simple.put_metric_data_calls
    for event in sqs_events(envelopes, size) + sqs_events(again, size):
        processor.handle(event)
    for event in sns_events(envelopes) + sns_events(again):
        simple.handle(event)
    unregistered = sum(1 for envelope in envelopes if "stranger-" in envelope["Message"])
    return {
        "events": events,
        "redelivered": len(again),
        "unregistered": unregistered,
        "processor_rows": processor.stored_rows() - before["processor"],
        "simple_rows": simple.stored_rows() - before["simple"],
        "processor_counted": processor.counted - counted_before,
        "simple_counted": simple.put_metric_data_calls - calls_before,
    }


def measure(db: BenchDatabase, sizes: Tuple[int, ...], rounds: int, events: int) -> Dict[str, object]:
    """Per size, the rounds of paired_round; then the redelivery comparison at the default batch size."""
    rounds_by_size: Dict[int, List[Dict[str, float]]] = {size: [] for size in sizes}
    with Emulator() as emulator:
        simple = SimpleDesign(emulator, db)
        processor = Processor(db)
        # Warm: the processor's first batch learns the users column's collation; clients open their pools.
        paired_round(processor, simple, 1, "simple-warm", 5)
        for round_number in range(rounds):
            for size in sizes:
                measured = paired_round(processor, simple, size, f"simple-{size}-{round_number}", events)
                rounds_by_size[size].append(measured)
                print(f"  simple design batch {size:5}: processor {measured['processor_rate']:,.0f} ev/s, simple "
                      f"{measured['simple_rate']:,.0f} ev/s", file=sys.stderr)  # fmt: skip
        duplicates = redelivery(processor, simple, 200, 0.3, 10)
        processor.engine.dispose()
    return {"rounds": rounds_by_size, "redelivery": duplicates}
