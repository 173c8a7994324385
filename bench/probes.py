"""Measurements that need a fresh interpreter: run as `python -m bench.probes memory|import ...`.

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def memory(url: str, batch: int) -> dict:
    """Peak memory of one processor invocation on `batch` records (input already in memory, as in Lambda)."""
    import tracemalloc

    from bench.workload import records, sqs_bodies
    from ses_guard import database, processor
    from ses_guard.settings import UsersTable
    from ses_guard.store import EventStore

    engine = database.build_engine(url)
    store = EventStore(engine, UsersTable())
    processor.process(records(sqs_bodies(3, "warmup")), store)  # connect, compile: not part of the batch
    batch_records = records(sqs_bodies(batch, f"mem{time.time_ns()}"))
    gc.collect()
    rss_before = _rss_mb()
    tracemalloc.start()
    outcome = processor.process(batch_records, store)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return {
        "events": len(outcome.events),
        "tracemalloc_peak_mb": peak / 2**20,
        "rss_before_mb": rss_before,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def import_time(module: str) -> dict:
    started = time.perf_counter()
    __import__(module)
    return {"module": module, "seconds": time.perf_counter() - started}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    mem = commands.add_parser("memory")
    mem.add_argument("--url", required=True)
    mem.add_argument("--batch", type=int, default=1000)
    imp = commands.add_parser("import")
    imp.add_argument("module")
    args = parser.parse_args(argv)
    result = memory(args.url, args.batch) if args.command == "memory" else import_time(args.module)
    sys.stdout.flush()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
