"""What one batch's users lookup costs against a large users table, through the index and by a scan."""

from __future__ import annotations

import statistics
import time
from typing import Dict, List

from sqlalchemy.engine import Engine

from bench.workload import USERS, BenchDatabase, user_address
from ses_guard.settings import UsersTable
from ses_guard.users import UserLookup

ADDRESSES = 100
USER_SHARE = 30  # of the 100 addresses, as in the throughput workload


def measure(db: BenchDatabase, index_runs: int = 30, scan_runs: int = 5) -> Dict[str, object]:
    """Median time of UserLookup.find for 100 addresses, in "auto" (index) and "scan" mode, on the bench's
    MariaDB database and its million users."""
    engine = db.engine()
    try:
        return _lookups(engine, index_runs, scan_runs)
    finally:
        engine.dispose()


def _lookups(engine: Engine, index_runs: int, scan_runs: int) -> Dict[str, object]:
    step = USERS // USER_SHARE
    addresses = [user_address(n * step + 1).lower() for n in range(USER_SHARE)]
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
