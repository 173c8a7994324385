"""The database goes away mid-stream (a TCP proxy in front of the real MariaDB is cut).

What a user checks: the failing batch raises (so SQS/SNS redeliver it), nothing of it is committed,
and once the database is back the redelivered batch completes with nothing lost or doubled.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ses_guard import database, handlers, processor, schema
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Source
from ses_guard.settings import UsersTable
from ses_guard.store import EventStore
from tests import ses_samples as ses
from tests.conftest import MYSQL_URL, emitted_metrics, lambda_container
from tests.reliability.tcp_proxy import CuttableProxy

pytestmark = [pytest.mark.mysql, pytest.mark.parametrize("database_url", ["mysql"], indirect=True)]


@pytest.fixture
def proxy():
    target = make_url(MYSQL_URL)
    proxy = CuttableProxy((target.host or "127.0.0.1", target.port or 3306))
    yield proxy
    proxy.close()


@pytest.fixture
def proxied_engine(engine, database_url, proxy):
    """The Lambda's engine, reaching MariaDB through the proxy (the `engine` fixture connects directly)."""
    proxied = database.build_engine(make_url(database_url).set(host="127.0.0.1", port=proxy.port))
    yield proxied
    proxied.dispose()


def batch(prefix: str, messages) -> list:
    return [InboundRecord(f"{prefix}-{n}", ses.sns_envelope(message)) for n, message in enumerate(messages)]


def scenario_batches():
    """Three batches of a stream: each stores user rows, unregistered rows and unregistered pairs."""
    first = ses.scenario_1()
    second = [*ses.scenario_3()[:5], ses.notification("Bounce", ["user2@example.com", "ghost@elsewhere.test"])]
    third = [*ses.scenario_3()[5:], ses.notification("Complaint", ["user1@example.com"], event_publishing=True)]
    return batch("a", first), batch("b", second), batch("c", third)


def table_counts(engine) -> dict:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar()
            for table in (schema.user_email_log, schema.unvalidated_email_log, schema.unregistered_recipient)
        }


EXPECTED_AFTER_ALL = {"user_email_log": 5, "unvalidated_email_log": 11, "unregistered_recipient": 11}


def cut_before(engine, proxy, statement_number: int) -> list:
    """Cut the network just before the engine sends its Nth SQL statement from now."""
    sent = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)
        if len(sent) == statement_number:  # once only: the redelivery must find the network back
            proxy.cut()

    sa_event.listen(engine, "before_cursor_execute", hook)
    return sent


def cut_before_commit(engine, proxy, commit_number: int) -> list:
    """Cut the network just before the engine sends its Nth COMMIT from now."""
    commits = []

    def hook(conn):
        commits.append(conn)
        if len(commits) == commit_number:  # once only
            proxy.cut()

    sa_event.listen(engine, "commit", hook)
    return commits


AFTER_SECOND = {"user_email_log": 4, "unvalidated_email_log": 6, "unregistered_recipient": 6}

# Where the connection dies while the second batch is stored: the store writes a batch in one
# transaction (users lookup, three inserts, COMMIT), so MariaDB holds nothing of it afterwards.
CUT_POINTS = {
    "users lookup": (("statement", 1), "nothing"),
    "first insert": (("statement", 2), "nothing"),
    "second insert": (("statement", 3), "nothing"),
    "third insert": (("statement", 4), "nothing"),
    "commit": (("commit", 1), "nothing"),
}


@pytest.mark.parametrize("where", CUT_POINTS)
def test_connection_lost_inside_a_batch_commits_no_part_of_it_and_the_redelivery_completes(
    engine, proxied_engine, proxy, where
):
    store = EventStore(proxied_engine, UsersTable())
    first, second, third = scenario_batches()
    counted = processor.process(first, store, Source()).stored.new_unregistered_pairs
    before = table_counts(engine)
    assert before == {"user_email_log": 3, "unvalidated_email_log": 0, "unregistered_recipient": 0}

    (kind, number), held = CUT_POINTS[where]
    seen = (
        cut_before(proxied_engine, proxy, number)
        if kind == "statement"
        else cut_before_commit(proxied_engine, proxy, number)
    )
    with pytest.raises(DBAPIError, match=r"Lost connection|server has gone away|Connection reset|Broken pipe"):
        processor.process(second, store, Source())
    assert len(seen) == number  # the failure happened where intended, not earlier
    assert table_counts(engine) == (before if held == "nothing" else AFTER_SECOND)

    proxy.restore()
    redelivered = processor.process(second, store, Source())  # the pool replaces the dead connection (pre-ping)
    counted += redelivered.stored.new_unregistered_pairs
    counted += processor.process(third, store, Source()).stored.new_unregistered_pairs
    again = processor.process(second, store, Source())  # a late duplicate redelivery adds nothing

    if held == "nothing":
        assert redelivered.stored.user_rows == 1 and redelivered.stored.unregistered_rows == 6
    assert again.stored == type(again.stored)()
    assert table_counts(engine) == EXPECTED_AFTER_ALL
    assert counted == EXPECTED_AFTER_ALL["unregistered_recipient"]


def test_database_unreachable_when_the_batch_starts(engine, proxied_engine, proxy):
    store = EventStore(proxied_engine, UsersTable())
    first, second, third = scenario_batches()
    processor.process(first, store, Source())
    proxy.cut()  # the pooled connection dies and new connections are refused

    for _ in range(2):  # SQS redelivers while the database is still down: each attempt fails whole
        with pytest.raises(DBAPIError, match=r"Lost connection|Can't connect|server has gone away"):
            processor.process(second, store, Source())
    assert proxy.connections_refused >= 1
    assert table_counts(engine) == {"user_email_log": 3, "unvalidated_email_log": 0, "unregistered_recipient": 0}

    proxy.restore()
    counted = processor.process(second, store, Source()).stored.new_unregistered_pairs
    counted += processor.process(third, store, Source()).stored.new_unregistered_pairs
    assert table_counts(engine) == EXPECTED_AFTER_ALL
    assert counted == 11


def test_through_the_handler_the_failed_invocation_raises_and_its_redelivery_counts_once(
    engine, proxied_engine, proxy, lambda_context, capsys, monkeypatch
):
    lambda_container(monkeypatch, proxied_engine)
    messages = ses.scenario_3()
    event = ses.sqs_event([ses.sns_envelope(message) for message in messages])
    cut_before(proxied_engine, proxy, 3)

    with pytest.raises(DBAPIError):
        handlers.process_events(event, lambda_context)
    failed_output = capsys.readouterr().out
    assert emitted_metrics(failed_output).get("EmailNotRegisteredCount", 0) == 0
    assert table_counts(engine)["unvalidated_email_log"] == 0

    proxy.restore()
    assert handlers.process_events(event, lambda_context) == {"batchItemFailures": []}
    assert handlers.process_events(event, lambda_context) == {"batchItemFailures": []}  # duplicate delivery
    assert emitted_metrics(capsys.readouterr().out)["EmailNotRegisteredCount"] == 10
    assert table_counts(engine) == {"user_email_log": 0, "unvalidated_email_log": 10, "unregistered_recipient": 10}


def test_commit_reached_the_server_but_its_answer_was_lost(engine, proxied_engine, proxy):
    """The in-doubt case: the batch raises although MariaDB committed it; SQS redelivers it.

    Rows must not double. EmailNotRegisteredCount must never count a pair twice (a double count could trip
    the sending breaker and stop all mail), so the pairs of the in-doubt batch go uncounted: the
    documented cost of a lost acknowledgement, bounded by one batch.
    """
    store = EventStore(proxied_engine, UsersTable())
    first, second, third = scenario_batches()
    counted = processor.process(first, store, Source()).stored.new_unregistered_pairs
    proxy.cut_after_commit(1)

    with pytest.raises(DBAPIError, match=r"Lost connection|server has gone away"):
        processor.process(second, store, Source())
    # The server did commit: what a redelivery must not double.
    assert table_counts(engine) == AFTER_SECOND

    proxy.restore()
    counted += processor.process(second, store, Source()).stored.new_unregistered_pairs
    counted += processor.process(third, store, Source()).stored.new_unregistered_pairs
    assert table_counts(engine) == EXPECTED_AFTER_ALL
    in_doubt_pairs = AFTER_SECOND["unregistered_recipient"]
    assert counted == EXPECTED_AFTER_ALL["unregistered_recipient"] - in_doubt_pairs
