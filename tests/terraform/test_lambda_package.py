"""make build: the Lambda package is reproducible, small, and self-sufficient apart from boto3; its handlers
run from the zip alone on the Python of the module's default runtime, compiled extensions included."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hcl2
import pytest

from ses_guard import database, migrate
from ses_guard.settings import UsersTable
from tests import ses_samples as ses
from tests.conftest import emitted_metrics

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "scripts" / "build_lambda.py"
# What Lambda's Python runtime brings besides the zip: boto3 and what it imports (all pure Python).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "dateutil", "six", "urllib3")


def default_runtime_python() -> str:
    """The Python of the module's default lambda_runtime (python3.12 -> 3.12): what the package is built for."""
    with (REPO / "variables.tf").open() as variables:
        declared = hcl2.load(variables, serialization_options=hcl2.SerializationOptions(strip_string_quotes=True))
    runtime = next(block["lambda_runtime"]["default"] for block in declared["variable"] if "lambda_runtime" in block)
    return runtime.removeprefix("python")


LAMBDA_PYTHON = default_runtime_python()


def find_interpreter(version: str) -> Path:
    """This version's interpreter: pyenv's (these machines have one per minor version), else on PATH."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)
    on_path = shutil.which(f"python{version}")
    candidates += [Path(on_path)] if on_path else []
    for interpreter in candidates:
        probe = subprocess.run(
            [str(interpreter), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return interpreter
    pytest.fail(
        f"no Python {version} (the module's default Lambda runtime) under {pyenv} or on PATH:"
        f" install it (`pyenv install {version}`) so the packaged handlers run on the Python Lambda runs",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def lambda_python() -> Path:
    return find_interpreter(LAMBDA_PYTHON)


@pytest.fixture(scope="module")
def runtime_provided(tmp_path_factory) -> Path:
    """A directory with only boto3 and its dependencies, standing in for what Lambda's runtime provides."""
    directory = tmp_path_factory.mktemp("runtime")
    for name in RUNTIME_PROVIDED:
        origin = Path(importlib.util.find_spec(name).origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (directory / source.name).symlink_to(source)
    return directory


def run_packaged(interpreter: Path, package: Path, runtime: Path, code: str, *arguments, cwd: Path, env=None):
    """Run code as Lambda would: the package first on the path, then the runtime's boto3, nothing else."""
    environment = {
        "PATH": os.environ["PATH"],
        **(env or {}),
        "PYTHONPATH": os.pathsep.join([str(package), str(runtime)]),
    }
    return subprocess.run(
        [str(interpreter), "-s", "-c", code, str(package), *map(str, arguments)],
        capture_output=True, text=True, cwd=cwd, env=environment,
    )  # fmt: skip


def build(output: Path) -> Path:
    completed = subprocess.run(
        [sys.executable, str(BUILD), "--output", str(output), "--python-version", LAMBDA_PYTHON],
        capture_output=True,
        text=True,
        cwd=REPO,
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
        names = archive.namelist()
    top_level = {name.split("/", 1)[0] for name in names}
    assert {"ses_guard", "sqlalchemy", "pymysql", "aws_lambda_powertools"} <= top_level
    # The CAs a connection from the RDS secret verifies the server against.
    assert "ses_guard/rds-ca-bundle.pem" in names
    # Lambda's Python runtime provides boto3; a second copy would only grow the package.
    assert not top_level & {"boto3", "botocore", "s3transfer"}
    # The wheels are Lambda's (Linux, CPython 3.12), not this machine's.
    with zipfile.ZipFile(two_builds[0]) as archive:
        extensions = [name for name in archive.namelist() if name.endswith(".so")]
    assert extensions
    assert all("cpython-312-x86_64-linux-gnu" in name for name in extensions)


def test_handlers_import_from_the_package_alone(two_builds, tmp_path, lambda_python, runtime_provided):
    with zipfile.ZipFile(two_builds[0]) as archive:
        archive.extractall(tmp_path)
    probe = (
        "import sys, ses_guard.handlers, sqlalchemy, pymysql, aws_lambda_powertools;"
        "assert all(m.__file__.startswith(sys.argv[1]) for m in (ses_guard.handlers, sqlalchemy, pymysql));"
        "print(', '.join(h for h in ('process_events', 'sync_thresholds', 'suppress_bouncing_users',"
        " 'disable_sending', 'watch_enforcement') if callable(getattr(ses_guard.handlers, h))))"
    )
    completed = run_packaged(lambda_python, tmp_path, runtime_provided, probe, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == (
        "process_events, sync_thresholds, suppress_bouncing_users, disable_sending, watch_enforcement"
    )


def test_the_compiled_extensions_of_the_package_load_on_the_runtime_python(
    two_builds, tmp_path, lambda_python, runtime_provided
):
    """On another Python the .so files cannot load and SQLAlchemy quietly falls back to pure Python."""
    with zipfile.ZipFile(two_builds[0]) as archive:
        archive.extractall(tmp_path)
        extensions = sorted(name for name in archive.namelist() if name.endswith(".so"))
    modules = [name.split(".", 1)[0].replace("/", ".") for name in extensions]
    probe = (
        "import importlib, sys, sqlalchemy.util._has_cy as cy;"
        "loaded = [importlib.import_module(m) for m in sys.argv[2:]];"
        "assert all(m.__file__.startswith(sys.argv[1]) and m.__file__.endswith('.so') for m in loaded);"
        "print(cy.HAS_CYEXTENSION, len(loaded))"
    )
    completed = run_packaged(lambda_python, tmp_path, runtime_provided, probe, *modules, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert {"greenlet._greenlet", "sqlalchemy.cyextension.processors"} <= set(modules)
    assert completed.stdout.split() == ["True", str(len(modules))]


def test_the_packaged_processor_stores_a_batch_from_the_package_alone(
    two_builds, tmp_path, lambda_python, runtime_provided
):
    """What Lambda runs is the zip, not this checkout: its handler must record events on its own."""
    code = tmp_path / "package"
    with zipfile.ZipFile(two_builds[0]) as archive:
        archive.extractall(code)
    event = tmp_path / "event.json"
    event.write_text(json.dumps(ses.sqs_event([ses.sns_envelope(message) for message in ses.scenario_3()])))
    # The schema is `ses-guard db upgrade`'s job (Alembic, not in the zip): done here from the checkout.
    database_url = f"sqlite:///{tmp_path / 'guard.db'}"
    setup = database.build_engine(database_url)
    migrate.upgrade(setup)
    migrate.init_demo_users(setup, UsersTable())
    setup.dispose()
    run = (
        "import json, sys, sqlalchemy;"
        "from ses_guard import handlers;"
        "assert handlers.__file__.startswith(sys.argv[1]) and sqlalchemy.__file__.startswith(sys.argv[1]);"
        "context = type('Context', (), {'function_name': 'f', 'memory_limit_in_mb': 256, 'aws_request_id': 'r',"
        " 'invoked_function_arn': 'arn:aws:lambda:us-east-1:123456789012:function:f'})();"
        "print(json.dumps(handlers.process_events(json.load(open(sys.argv[2])), context)))"
    )
    completed = run_packaged(
        lambda_python, code, runtime_provided, run, event, cwd=tmp_path,
        env={"DATABASE_URL": database_url},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.strip().splitlines()
    assert json.loads(lines[-1]) == {"batchItemFailures": []}
    assert emitted_metrics(completed.stdout)["EmailNotRegisteredCount"] == 10
