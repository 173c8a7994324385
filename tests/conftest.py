"""Fixtures shared by every suite: databases (SQLite and the real MariaDB), handler invocation, EMF capture."""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ses_guard import database, handlers, migrate
from ses_guard.observability import logger
from ses_guard.settings import UsersTable

TESTS = Path(__file__).resolve().parent
# Suites whose every test takes seconds to minutes (Terraform applies, `make demo`); a slow test elsewhere carries
# @pytest.mark.slow itself.
SLOW_SUITES = ("terraform", "demo")

MYSQL_URL = os.environ.get("SES_GUARD_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

# The guard stores and compares UTC whatever the host's zone (`ses-guard replay` runs anywhere): the suites run
# in a zone far from UTC, with a part-hour offset, so a conversion to local time fails them on every host, UTC
# ones included. A POSIX rule (UTC+05:45, Nepal's; the sign is inverted) needs no tz database on the host.
os.environ["TZ"] = "NPT-05:45"
time.tzset()


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.relative_to(TESTS).parts[0] in SLOW_SUITES:
            item.add_marker(pytest.mark.slow)


@dataclass
class LambdaContext:
    function_name: str = "ses-guard-process-events"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ses-guard-process-events"
    aws_request_id: str = "request-1"
    timeout_seconds: float = 60.0  # the module's default lambda_timeout
    started_at: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started_at + self.timeout_seconds - time.monotonic()) * 1000))


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture(autouse=True)
def _structured_log_stream_restored():
    """The CLI points the package's logger at stderr, which under pytest is a capture closed after the test,
    and quiets it (level ERROR unless -v)."""
    handler = logger.registered_handler
    stream, level = handler.stream, logger.log_level
    yield
    handler.stream = stream
    logger.setLevel(level)


@pytest.fixture
def structured_log() -> io.StringIO:
    """Everything the package's structured logger writes (in Lambda: the function's log stream).

    Its handler holds the stdout of import time, so neither capsys nor caplog sees these lines.
    """
    buffer = io.StringIO()
    logger.registered_handler.stream = buffer
    return buffer


def _mysql_server_engine():
    engine = database.build_engine(make_url(MYSQL_URL).set(database=None))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # the MariaDB suite must run in CI: fail loudly, never skip
        pytest.fail(f"MariaDB at {MYSQL_URL} is not reachable ({error}); start it (see .ci/run)")
    return engine


@pytest.fixture(scope="session")
def mysql_server():
    engine = _mysql_server_engine()
    yield engine
    engine.dispose()


def _fresh_mysql_database(server) -> str:
    name = f"ses_guard_test_{uuid.uuid4().hex[:12]}"
    with server.begin() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    return name


def _drop_mysql_database(server, name: str) -> None:
    with server.begin() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture
def database_url(request, tmp_path):
    """URL of an empty database of the requested kind ('sqlite' or 'mysql'), dropped afterwards."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'guard.db'}"
        return
    server = request.getfixturevalue("mysql_server")
    name = _fresh_mysql_database(server)
    yield make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
    _drop_mysql_database(server, name)


def lambda_container(monkeypatch, engine=None, clients=None) -> handlers.Container:
    """A fresh Lambda container for the handlers (made again when a test changes the function's environment):
    its settings read from os.environ when first used, the given engine and clients (others: created by boto3,
    which moto answers inside moto_clients)."""
    container = handlers.Container(os.environ, engine, clients)
    monkeypatch.setattr(handlers, "_container", container)
    return container


@pytest.fixture(autouse=True)
def _handlers_container(request, monkeypatch):
    """The handlers' Lambda container for each test: with the test's engine and moto's clients when it uses them."""
    names = request.fixturenames
    engine = request.getfixturevalue("engine") if "engine" in names else None
    clients = request.getfixturevalue("moto_clients") if "moto_clients" in names else None
    lambda_container(monkeypatch, engine, clients)


def _upgrade_with_demo_users(url) -> None:
    engine = database.build_engine(url)
    migrate.upgrade(engine)
    migrate.init_demo_users(engine, UsersTable())
    engine.dispose()


@pytest.fixture(scope="session")
def _upgraded_sqlite(tmp_path_factory) -> Path:
    """A SQLite database upgraded and seeded once per run; each test's `engine` starts from a copy of it (Alembic
    loads its scripts again on every upgrade: a third of the suites' time when each test ran it)."""
    path = tmp_path_factory.mktemp("upgraded") / "guard.db"
    _upgrade_with_demo_users(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _upgraded_mysql(mysql_server) -> str:
    """The MariaDB twin of _upgraded_sqlite: a database upgraded and seeded once per run, copied table by table."""
    name = _fresh_mysql_database(mysql_server)
    _upgrade_with_demo_users(make_url(MYSQL_URL).set(database=name))
    yield name
    _drop_mysql_database(mysql_server, name)


def _copy_mysql_database(server, source: str, target: str) -> None:
    with server.begin() as connection:
        tables = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :source"), {"source": source}
        )
        for table in tables.scalars().all():
            connection.execute(text(f"CREATE TABLE `{target}`.`{table}` LIKE `{source}`.`{table}`"))
            connection.execute(text(f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{source}`.`{table}`"))


@pytest.fixture
def engine(request, database_url):
    """An upgraded database holding the seed's three users (a copy of one upgraded once per run)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(request.getfixturevalue("_upgraded_sqlite"), url.database)
    else:
        _copy_mysql_database(
            request.getfixturevalue("mysql_server"), request.getfixturevalue("_upgraded_mysql"), url.database
        )
    engine = database.build_engine(database_url)
    yield engine
    engine.dispose()


both_databases = pytest.mark.parametrize(
    "database_url", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True
)


def emitted_metrics(captured_stdout: str) -> dict:
    """Sum of every EMF metric printed to stdout, by name."""
    totals: dict = {}
    for line in captured_stdout.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


@functools.cache
def _boto3_session():
    """One boto3 session for the test process: mock_aws drops boto3's default session, and a new session reads
    botocore's endpoint and service model files again, which took most of a moto test's time."""
    import boto3

    return boto3.Session()


@pytest.fixture
def moto_clients(monkeypatch):
    """AWS in-process (moto, with the project's SES extensions): boto3 clients by service, with throwaway
    credentials in the environment (a client the code creates itself inside the test is moto's too)."""
    # Imported here: the unit suite runs in a plain virtualenv, without moto.
    from moto import mock_aws

    from tests.support import moto_ses, moto_sesv2, moto_sns

    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    moto_ses.apply()
    moto_sesv2.apply()
    moto_sns.apply()
    session = _boto3_session()
    with mock_aws():
        yield {name: session.client(name) for name in ("ses", "sesv2", "cloudwatch", "sns", "sqs", "secretsmanager")}
