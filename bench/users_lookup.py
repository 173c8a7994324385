"""What one batch's users lookup costs against a large users table, through the index and by a scan."""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Dict, List

from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.workload import BenchDatabase
from ses_guard.settings import UsersTable
from ses_guard.users import UserLookup

USERS = 1_000_000
# MariaDB's sequence engine: a million users in seconds, in mixed case as applications store them.
FILL_USERS = (
    "INSERT INTO users (user_id, email_address) SELECT seq, CONCAT('User', seq, '@Example.com') FROM seq_1_to_1000000"
)
ADDRESSES = 100
USER_SHARE = 30  # of the 100 addresses, as in the throughput workload


def measure(mysql_url: str, index_runs: int = 30, scan_runs: int = 5) -> Dict[str, object]:
    """Median time of UserLookup.find for 100 addresses, in "auto" (index) and "scan" mode, on one table."""
    with tempfile.TemporaryDirectory(prefix="ses-guard-bench-") as workdir:
        db = BenchDatabase("mysql", mysql_url, workdir)
        engine = db.engine()
        try:
            with engine.begin() as connection:
                # The seed's three-user table replaced by a large one, as applications store addresses.
                connection.execute(text("DROP TABLE users"))
                connection.execute(text(
                    "CREATE TABLE users (user_id BIGINT PRIMARY KEY, email_address VARCHAR(320) "
                    "COLLATE utf8mb4_unicode_ci NOT NULL, validated INT NOT NULL DEFAULT 1, "
                    "KEY ix_users_email_address (email_address))"
                ))  # fmt: skip
                connection.execute(text(FILL_USERS))
            return _lookups(engine, index_runs, scan_runs)
        finally:
            engine.dispose()
            db.close()


def _lookups(engine: Engine, index_runs: int, scan_runs: int) -> Dict[str, object]:
    step = USERS // USER_SHARE
    addresses = [f"user{n * step + 1}@example.com" for n in range(USER_SHARE)]
    addresses += [f"stranger{n}@elsewhere.test" for n in range(ADDRESSES - USER_SHARE)]
    result: Dict[str, object] = {"users": USERS, "addresses": ADDRESSES}
    with engine.connect() as connection:
        for mode, runs in (("auto", index_runs), ("scan", scan_runs)):
            lookup = UserLookup(UsersTable(email_lookup=mode))
            found = lookup.find(connection, addresses)  # learns the collation; warms the buffer pool
            timings: List[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                lookup.find(connection, addresses)
                timings.append(time.perf_counter() - started)
            result[mode] = {
                "uses_index": lookup.uses_index,
                "median_ms": statistics.median(timings) * 1000,
                "runs": runs,
                "found": len(found),
            }
    return result
