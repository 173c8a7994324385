"""The breaker against a database that stops answering (MariaDB: a table lock held by another session)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pymysql
import pytest
from sqlalchemy.engine import make_url

from ses_guard import breaker, database
from ses_guard.settings import get_settings
from tests.integration.test_automation import account, alarm_event, audit_entries  # noqa: F401 (fixture)

pytestmark = [pytest.mark.mysql, pytest.mark.parametrize("database_url", ["mysql"], indirect=True)]

RELEASE_AFTER_SECONDS = 20  # long past the breaker's patience: without it the test would wait forever


@pytest.fixture
def evidence_table_locked(database_url):
    """Another session holds a write lock on the evidence's table: reading it waits, as on a hung server."""
    url = make_url(database_url)
    session = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, database=url.database)
    session.cursor().execute("LOCK TABLES unvalidated_email_log WRITE")
    release = threading.Timer(RELEASE_AFTER_SECONDS, session.close)
    release.start()
    yield
    release.cancel()
    if session.open:
        session.close()


def test_a_hung_database_does_not_hold_back_the_announcement(account, engine, evidence_table_locked):  # noqa: F811
    settings = get_settings()
    clients = {name: account[name] for name in ("ses", "sns", "cloudwatch")}

    outcome = breaker.handle(
        alarm_event(), settings, "123456789012", clients, database.get_engine(), evidence_timeout=timedelta(seconds=1)
    )

    assert outcome.acted_on
    assert account["ses"].get_account_sending_enabled()["Enabled"] is False
    [notice] = account["critical"].read()
    assert (
        "The evidence could not be read from the database: the database did not answer within 1 s"
        in (notice["Message"])
    )
    assert [(e["action"], e["target"]) for e in audit_entries(engine)] == [("sending_disabled", "account")]
