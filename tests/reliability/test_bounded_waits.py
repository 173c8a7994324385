"""Every invocation ends before the function's timeout, with one log line naming the cause, whatever the
database does: a host that never answers, a row lock held by another session, an ALTER TABLE queued
behind a long reader (metadata lock). The handlers run with a function timeout of a few seconds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager

import pymysql
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ses_guard import cli, database, handlers
from ses_guard.cli_errors import ExitCode
from tests import ses_samples as ses
from tests.conftest import MYSQL_URL, LambdaContext, lambda_container
from tests.reliability.tcp_proxy import CuttableProxy, SilentServer

pytestmark = pytest.mark.slow  # each test waits out a database timeout

mysql_only = pytest.mark.parametrize("database_url", [pytest.param("mysql", marks=pytest.mark.mysql)], indirect=True)

FUNCTION_TIMEOUT_SECONDS = 4.0


def short_lived_context() -> LambdaContext:
    return LambdaContext(timeout_seconds=FUNCTION_TIMEOUT_SECONDS)


def batch_event():
    return ses.sqs_event([ses.sns_envelope(message) for message in ses.scenario_3()[:3]])


def failure_lines(structured_log) -> list:
    lines = [json.loads(line) for line in structured_log.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("message") == "invocation failed"]


def invoke_and_time(handler, event, context):
    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        handler(event, context)
    return time.monotonic() - started, raised.value


def raw_session(database_url) -> pymysql.connections.Connection:
    url = make_url(database_url)
    return pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, database=url.database)


@contextmanager
def the_container_engine(monkeypatch, engine):
    """Within the block the handlers' container uses `engine` (disposed afterwards)."""
    lambda_container(monkeypatch, engine)
    try:
        yield
    finally:
        engine.dispose()


@pytest.fixture
def silent_server():
    server = SilentServer()
    yield server
    server.close()


@mysql_only
def test_a_host_that_never_answers_ends_the_invocation_in_time(
    silent_server, database_url, structured_log, monkeypatch
):
    url = make_url(database_url).set(host="127.0.0.1", port=silent_server.port)
    with the_container_engine(monkeypatch, database.build_engine(url)):
        elapsed, error = invoke_and_time(handlers.process_events, batch_event(), short_lived_context())

    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    assert isinstance(error, DBAPIError)
    [line] = failure_lines(structured_log)
    assert line["cause"].startswith("the database did not answer in time")


@mysql_only
def test_the_cli_gives_up_on_a_host_that_never_answers_after_its_db_timeout(
    silent_server, database_url, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", make_url(database_url).set(port=silent_server.port).render_as_string(False))
    started = time.monotonic()
    status = cli.main(["--db-timeout", "1", "suppress-bouncing-users", "--dry-run"])

    assert time.monotonic() - started < 3  # 1 s to connect, 1.5 s for the greeting at most
    assert status == ExitCode.DATABASE
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("ses-guard: cannot connect to MySQL/MariaDB")


@pytest.fixture
def rows_locked(engine, database_url):
    """A long job (say, retention) holds the gap lock every new unregistered row needs, until the test ends."""
    session = raw_session(database_url)
    session.begin()
    session.cursor().execute("SELECT * FROM unvalidated_email_log FOR UPDATE")
    yield
    session.rollback()
    session.close()


def assert_the_lock_wait_ended_the_invocation_in_time(structured_log) -> None:
    elapsed, error = invoke_and_time(handlers.process_events, batch_event(), short_lived_context())

    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    assert isinstance(error, DBAPIError) and error.orig.args[0] == 1205
    [line] = failure_lines(structured_log)
    assert line["cause"].startswith("lock wait timeout: another session held a row or table (metadata) lock")


@mysql_only
def test_a_row_lock_held_elsewhere_ends_the_invocation_in_time(rows_locked, structured_log):
    assert_the_lock_wait_ended_the_invocation_in_time(structured_log)


@mysql_only
def test_lock_timeout_retries_all_fit_in_the_remaining_time(
    engine, database_url, rows_locked, structured_log, monkeypatch
):
    # Each lock wait may take 1 s: the first attempts are retried while the deadline leaves room.
    with the_container_engine(monkeypatch, database.build_engine(database_url, timeout_seconds=1)):
        elapsed, _ = invoke_and_time(handlers.process_events, batch_event(), short_lived_context())

    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    lines = [json.loads(line) for line in structured_log.getvalue().splitlines() if line.startswith("{")]
    retries = [line for line in lines if line.get("message") == "transaction retried"]
    assert [line["attempt"] for line in retries] == [1, 2]
    assert len(failure_lines(structured_log)) == 1


@pytest.fixture
def alter_queued_behind_a_reader(engine, database_url):
    """A reader's open transaction on users; an ALTER TABLE users waits behind it for the metadata lock, and
    every later query of users waits behind the ALTER (MariaDB's default wait: a day)."""
    reader = raw_session(database_url)
    reader.begin()
    reader.cursor().execute("SELECT COUNT(*) FROM users")
    migration = raw_session(database_url)
    migration.cursor().execute("SET SESSION lock_wait_timeout = 30")
    altering = threading.Thread(
        target=lambda: migration.cursor().execute("ALTER TABLE users ADD COLUMN nickname VARCHAR(40)"), daemon=True
    )
    altering.start()
    observer = raw_session(database_url)
    for _ in range(50):
        cursor = observer.cursor()
        cursor.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE '%metadata lock%'")
        if cursor.fetchone()[0]:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the ALTER TABLE never waited for the metadata lock")
    yield
    reader.rollback()  # the ALTER then runs
    altering.join(timeout=30)
    for session in (reader, migration, observer):
        session.close()


@mysql_only
def test_a_metadata_lock_ends_the_invocation_in_time(alter_queued_behind_a_reader, structured_log):
    assert_the_lock_wait_ended_the_invocation_in_time(structured_log)


@mysql_only
def test_too_little_time_left_fails_at_once_saying_so(engine, structured_log):
    context = LambdaContext(timeout_seconds=1.2)

    elapsed, _ = invoke_and_time(handlers.process_events, batch_event(), context)

    assert elapsed < 1.2
    [line] = failure_lines(structured_log)
    assert "too little to wait for the database" in line["cause"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sqlite_locked_by_another_writer_ends_the_invocation_in_time(engine, database_url, structured_log):
    writer = sqlite3.connect(make_url(database_url).database)
    writer.execute("BEGIN IMMEDIATE")  # SQLite's one writer: every other write waits for it
    try:
        elapsed, error = invoke_and_time(handlers.process_events, batch_event(), short_lived_context())
    finally:
        writer.rollback()
        writer.close()

    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    assert "database is locked" in str(error)
    [line] = failure_lines(structured_log)
    assert "database is locked" in line["cause"]


@mysql_only
@pytest.mark.parametrize("statement_number", [1, 3], ids=["users lookup", "an insert"])
def test_a_server_that_hangs_mid_batch_ends_the_invocation_in_time(
    engine, database_url, structured_log, statement_number, monkeypatch
):
    target = make_url(MYSQL_URL)
    proxy = CuttableProxy((target.host or "127.0.0.1", target.port or 3306))
    proxied = database.build_engine(make_url(database_url).set(host="127.0.0.1", port=proxy.port))
    sent = []

    def hang_before(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)
        if len(sent) == statement_number:
            proxy.freeze()

    sa_event.listen(proxied, "before_cursor_execute", hang_before)
    try:
        with the_container_engine(monkeypatch, proxied):
            elapsed, error = invoke_and_time(handlers.process_events, batch_event(), short_lived_context())
    finally:
        proxy.close()

    assert elapsed < FUNCTION_TIMEOUT_SECONDS
    assert len(sent) == statement_number and isinstance(error, DBAPIError)
    [line] = failure_lines(structured_log)
    assert line["cause"].startswith("the database did not answer in time")
