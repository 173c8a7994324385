"""Nothing is stored differently from what arrived without a line in the log (MariaDB)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from ses_guard import database, processor, schema
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Source
from ses_guard.settings import UsersTable
from ses_guard.store import EventStore
from tests import ses_samples as ses

pytestmark = [pytest.mark.mysql, pytest.mark.parametrize("database_url", ["mysql"], indirect=True)]

SUBJECT = "Sale \U0001f600 today"


def logged(structured_log, message_part):
    lines = [json.loads(line) for line in structured_log.getvalue().splitlines() if line.startswith("{")]
    return [line for line in lines if message_part in line.get("message", "")]


def store(engine, message):
    processor.process([InboundRecord("1", message)], EventStore(engine, UsersTable()), Source())


def store_one(engine):
    store(engine, ses.notification("Bounce", ["ghost@elsewhere.test"], subject=SUBJECT))


def stored_subjects(engine):
    with engine.connect() as connection:
        return connection.execute(select(schema.unvalidated_email_log.c.subject)).scalars().all()


@pytest.mark.parametrize("charset", ["utf8", "utf8mb3", "latin1"])
def test_a_connection_charset_without_4_byte_characters_is_upgraded_and_said(
    engine, database_url, structured_log, charset
):
    url = make_url(database_url).update_query_dict({"charset": charset})
    narrow = database.build_engine(url)
    try:
        store_one(narrow)
    finally:
        narrow.dispose()

    assert stored_subjects(engine) == [SUBJECT]
    [warning] = logged(structured_log, "connection charset")
    assert warning["charset"] == charset and "using utf8mb4 instead" in warning["message"]


def test_a_value_the_column_cannot_hold_is_logged_not_silently_changed(engine, structured_log):
    # An application that keeps the log tables in a legacy character set.
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE unvalidated_email_log MODIFY subject VARCHAR(998) CHARACTER SET latin1"))

    store_one(engine)

    assert stored_subjects(engine) == ["Sale ? today"]
    [warning] = logged(structured_log, "rows stored differently from what arrived")
    assert (warning["message"], warning["level"]) == ("rows stored differently from what arrived", "WARNING")
    assert warning["table"] == "unvalidated_email_log"
    [altered] = warning["warnings"]
    assert (altered["level"], altered["code"]) == ("Warning", 1366)
    # The server's words, with the value itself left out of the log.
    assert altered["message"].startswith("Incorrect string value: '...' for column `")
    assert altered["message"].endswith("`.`unvalidated_email_log`.`subject` at row 1")


def test_a_redelivery_whose_rows_are_all_stored_logs_no_warning(engine, structured_log):
    message = ses.notification("Bounce", ["ghost@elsewhere.test", "user1@example.com"], subject=SUBJECT)
    store(engine, message)
    store(engine, message)  # every row a duplicate key: what INSERT IGNORE is for

    assert stored_subjects(engine) == [SUBJECT]
    assert logged(structured_log, "stored differently") == []
