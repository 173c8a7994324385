"""make build: the Lambda package is reproducible, small, and self-sufficient apart from boto3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests import ses_samples as ses
from tests.conftest import emitted_metrics

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "scripts" / "build_lambda.py"


def build(output: Path) -> Path:
    completed = subprocess.run(
        [sys.executable, str(BUILD), "--output", str(output)], capture_output=True, text=True, cwd=REPO
    )
    assert completed.returncode == 0, completed.stderr
    return output


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    directory = tmp_path_factory.mktemp("builds")
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(build, [directory / "first.zip", directory / "second.zip"]))


def test_two_builds_are_byte_identical(two_builds):
    first, second = two_builds
    assert first.read_bytes() == second.read_bytes()


def test_package_is_under_5_mb(two_builds):
    assert two_builds[0].stat().st_size < 5_000_000


def test_entries_carry_no_build_time_or_machine_details(two_builds):
    with zipfile.ZipFile(two_builds[0]) as archive:
        entries = archive.infolist()
    names = [entry.filename for entry in entries]
    assert names == sorted(names)
    assert {entry.date_time for entry in entries} == {(1980, 1, 1, 0, 0, 0)}
    assert {entry.external_attr >> 16 for entry in entries} == {0o100644}
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", "/RECORD", "/INSTALLER"))]
    assert not [name for name in names if name.startswith("bin/")]


def test_package_holds_the_code_and_its_dependencies_but_not_boto3(two_builds):
    with zipfile.ZipFile(two_builds[0]) as archive:
        top_level = {name.split("/", 1)[0] for name in archive.namelist()}
    assert {"ses_guard", "sqlalchemy", "pymysql", "aws_lambda_powertools"} <= top_level
    # Lambda's Python runtime provides boto3; a second copy would only grow the package.
    assert not top_level & {"boto3", "botocore", "s3transfer"}
    # The wheels are Lambda's (Linux, CPython 3.12), not this machine's.
    with zipfile.ZipFile(two_builds[0]) as archive:
        extensions = [name for name in archive.namelist() if name.endswith(".so")]
    assert extensions
    assert all("cpython-312-x86_64-linux-gnu" in name for name in extensions)


def test_handlers_import_from_the_package_alone(two_builds, tmp_path):
    with zipfile.ZipFile(two_builds[0]) as archive:
        archive.extractall(tmp_path)
    # Only the package on the path, plus this interpreter's boto3 standing in for the runtime's.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import ses_guard.handlers, sqlalchemy, pymysql, aws_lambda_powertools;"
        "assert all(m.__file__.startswith(sys.argv[1]) for m in (ses_guard.handlers, sqlalchemy, pymysql));"
        "print(', '.join(h for h in ('process_events', 'sync_thresholds', 'suppress_bouncing_users',"
        " 'disable_sending', 'watch_enforcement') if callable(getattr(ses_guard.handlers, h))))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == (
        "process_events, sync_thresholds, suppress_bouncing_users, disable_sending, watch_enforcement"
    )


def test_the_packaged_processor_stores_a_batch_from_the_package_alone(two_builds, tmp_path):
    """What Lambda runs is the zip, not this checkout: its handler must record events on its own."""
    code = tmp_path / "package"
    with zipfile.ZipFile(two_builds[0]) as archive:
        archive.extractall(code)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(ses.sqs_event([ses.sns_envelope(message) for message in ses.scenario_3()])))
    run = (
        "import json, sys; sys.path.insert(0, sys.argv[1]);"
        "from ses_guard import database, handlers, migrate;"
        "from ses_guard.settings import UsersTable;"
        "engine = database.get_engine(); migrate.upgrade(engine); migrate.init_demo_users(engine, UsersTable());"
        "assert handlers.__file__.startswith(sys.argv[1]);"
        "context = type('Context', (), {'function_name': 'f', 'memory_limit_in_mb': 256, 'aws_request_id': 'r',"
        " 'invoked_function_arn': 'arn:aws:lambda:us-east-1:123456789012:function:f'})();"
        "print(json.dumps(handlers.process_events(json.load(open(sys.argv[2])), context)))"
    )
    environment = {"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite:///{tmp_path / 'guard.db'}"}
    completed = subprocess.run(
        [sys.executable, "-c", run, str(code), str(event)], capture_output=True, text=True, cwd=tmp_path,
        env=environment,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == {"batchItemFailures": []}
    assert emitted_metrics(completed.stdout)["EmailNotRegisteredCount"] == 10
