"""How the store hands a batch's rows to the database driver (issue 17): on MariaDB as SQL text compiled once,
the rows as they are (SQLAlchemy would otherwise rebuild every row's parameters: about a tenth of the
processor's time there, `make bench`); on SQLite through SQLAlchemy, which converts the datetimes."""

from __future__ import annotations

from sqlalchemy import event as sa_event

from ses_guard.migrate import DEMO_USERS
from ses_guard.parsing import InboundRecord
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.support import pipeline


@both_databases
def test_the_log_rows_reach_the_driver_as_compiled_text_on_mariadb_only(engine):
    inserts = []

    def record_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith(("INSERT", "INSERT IGNORE")):
            inserts.append((statement.split(" INTO ")[1].split(" ")[0], context.compiled is None))

    sa_event.listen(engine, "before_cursor_execute", record_insert)
    message = ses.notification("Delivery", [DEMO_USERS[0], "stranger@elsewhere.test"])

    for batch in range(2):
        pipeline.process([InboundRecord(str(batch), message)], engine)

    as_text = engine.dialect.name == "mysql"
    tables = ["user_email_log", "unvalidated_email_log", "unregistered_recipient"]
    assert inserts == [(table, as_text) for table in tables] * 2
