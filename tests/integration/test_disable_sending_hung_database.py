"""The breaker against a database that stops answering (MariaDB: a table lock held by another session)."""

from __future__ import annotations

import os
import threading
import time
from datetime import timedelta

import pymysql
import pytest
from sqlalchemy.engine import make_url

from ses_guard import disable_sending, lambda_events
from ses_guard import settings as config
from ses_guard.provenance import Home
from tests.integration.test_automation import (  # noqa: F401 (fixture)
    account,
    alarm_event,
    audit_entries,
    leak_scenario_logged,
)

pytestmark = [pytest.mark.mysql, pytest.mark.parametrize("database_url", ["mysql"], indirect=True)]

RELEASE_AFTER_SECONDS = 20  # long past the breaker's patience: without it the test would wait forever


def locked(database_url, table):
    """Another session holds a write lock on the table: using it waits, as on a hung server."""
    url = make_url(database_url)
    session = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, database=url.database)
    session.cursor().execute(f"LOCK TABLES {table} WRITE")
    release = threading.Timer(RELEASE_AFTER_SECONDS, session.close)
    release.start()
    yield
    release.cancel()
    if session.open:
        session.close()


@pytest.fixture
def evidence_table_locked(database_url):
    yield from locked(database_url, "unvalidated_email_log")


@pytest.fixture
def audit_table_locked(database_url):
    yield from locked(database_url, "automation_audit_log")


@pytest.fixture
def leak_logged(engine):
    leak_scenario_logged(engine)


def handle_the_alarm(account_clients, engine) -> disable_sending.BreakerOutcome:
    """The breaker's alarm, handled with a 1 s bound on each database call."""
    clients = {name: account_clients[name] for name in ("ses", "sns", "cloudwatch")}
    return disable_sending.handle(
        lambda_events.sns_messages(alarm_event()),
        config.disable_sending_settings(os.environ),
        Home("aws", "us-east-1", "123456789012"),
        clients,
        engine,
        evidence_timeout=timedelta(seconds=1),
    )


def test_a_hung_database_does_not_hold_back_the_announcement(account, leak_logged, engine, evidence_table_locked):  # noqa: F811
    """The evidence cannot be read: the breaker refuses (it acts only on the guard's own records), and says so
    on the critical topic within its bound, not when the lock is released or Lambda's timeout ends it."""
    started = time.monotonic()

    outcome = handle_the_alarm(account, engine)

    elapsed = time.monotonic() - started
    [notice] = account["critical"].read()
    # Evidence read and audit write, 1 s each, plus the AWS calls; the lock holds for RELEASE_AFTER_SECONDS.
    assert elapsed < 5, f"the breaker took {elapsed:.1f} s"
    assert outcome.acted_on == []
    assert outcome.refused == [
        "the guard's database could not be read (the database did not answer within 1 s), "
        "so the alarm could not be checked"
    ]
    assert account["ses"].get_account_sending_enabled()["Enabled"] is True
    assert notice["Subject"] == "CRITICAL: ses-guard refused to disable SES sending"
    assert (
        "The evidence could not be read from the database: the database did not answer within 1 s"
        in (notice["Message"])
    )
    # Only the evidence's table is locked: the refusal itself is on record.
    assert [(e["action"], e["target"]) for e in audit_entries(engine)] == [("sending_disable_refused", "account")]


def test_a_hung_audit_write_is_one_log_line_saying_how_long_it_waited(
    account,  # noqa: F811
    leak_logged,
    engine,
    audit_table_locked,
    caplog,
):

    outcome = handle_the_alarm(account, engine)

    assert outcome.acted_on == ["app-email-not-registered-critical"]
    [line] = [record for record in caplog.records if record.getMessage() == "breaker could not record the audit row"]
    assert (line.targets, line.reason) == (["account"], "the database did not answer within 1 s")
