"""10,000 SQS records (30% redeliveries, dual-path duplicates) through 4 concurrent workers on MariaDB.

Each worker is a Lambda container of its own (its own engine and connection). A batch that raises is
put back on the queue, as SQS would redeliver it; the database must still end up with exactly one row
per (SES message, recipient, event), and EmailNotRegisteredCount must add up to the distinct
unregistered (message, recipient) pairs.
"""

from __future__ import annotations

import queue
import threading

import pytest
from sqlalchemy import text

from ses_guard import database, migrate, processor
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Source
from ses_guard.settings import UsersTable
from ses_guard.store import EventStore
from tests.reliability.workload import USERS, build_stream

pytestmark = pytest.mark.slow  # ten thousand records through four workers

WORKERS = 4
BATCH_SIZE = 50
MAX_ATTEMPTS = 5


@pytest.mark.mysql
@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_ten_thousand_records_four_workers_exactly_once(database_url):
    stream = build_stream(total_records=10_000, redelivery_share=0.30, seed=6)
    assert len(stream.bodies) == 10_000 and stream.redeliveries == 3_000 and stream.dual_path_copies > 1_000

    setup = database.build_engine(database_url)
    migrate.upgrade(setup)
    migrate.init_demo_users(setup, UsersTable())

    batches: queue.Queue = queue.Queue()
    for start in range(0, len(stream.bodies), BATCH_SIZE):
        chunk = stream.bodies[start : start + BATCH_SIZE]
        batches.put(([InboundRecord(f"r{start + n}", body) for n, body in enumerate(chunk)], 1))
    outcomes, redelivered, given_up = [], [], []
    lock = threading.Lock()

    def worker() -> None:
        engine = database.build_engine(database_url)
        store = EventStore(engine, UsersTable())
        try:
            while True:
                try:
                    records, attempt = batches.get_nowait()
                except queue.Empty:
                    return
                try:
                    outcome = processor.process(records, store, Source())
                except Exception as error:  # the Lambda fails; SQS redelivers the whole batch
                    with lock:
                        (redelivered if attempt < MAX_ATTEMPTS else given_up).append(repr(error))
                    if attempt < MAX_ATTEMPTS:
                        batches.put((records, attempt + 1))
                    continue
                with lock:
                    outcomes.append(outcome)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker, name=f"container-{n}") for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads), "workers hung"

    # Racing containers may deadlock (InnoDB picks a victim): that batch fails whole and is redelivered.
    # Any other failure would be a bug.
    assert all("1213" in error or "Lock wait timeout" in error for error in redelivered), set(redelivered)

    assert given_up == []
    assert sum(outcome.records for outcome in outcomes) == 10_000
    assert [record for outcome in outcomes for record in outcome.failed_record_ids] == []

    with setup.connect() as connection:
        stored = connection.execute(
            text(
                "SELECT ses_message_id, destination_address, status, timestamp, user_id FROM user_email_log "
                "UNION ALL SELECT ses_message_id, destination_address, status, timestamp, NULL "
                "FROM unvalidated_email_log"
            )
        ).all()
        unregistered_rows = connection.execute(text("SELECT COUNT(*) FROM unregistered_recipient")).scalar()
    setup.dispose()

    facts = [(row[0], row[1], row[2], row[3]) for row in stored]
    assert len(facts) == len(set(facts)), "some (message, recipient, event) is stored twice"
    assert set(facts) == stream.facts, "rows lost or invented"
    # Users' mail is in user_email_log with their id, everyone else's in unvalidated_email_log.
    assert {(row[1], row[4]) for row in stored if row[4] is not None} <= set(USERS.items())
    assert all(row[1] not in USERS for row in stored if row[4] is None)

    counted = sum(outcome.stored.new_unregistered_pairs for outcome in outcomes)
    assert counted == len(stream.unregistered_pairs) == unregistered_rows
