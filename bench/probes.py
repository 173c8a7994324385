"""Measurements that need a fresh interpreter: run as `python -m bench.probes memory|import ...`.

Each prints one JSON object on its last line of stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    """Linux: writing 5 to clear_refs resets VmHWM (peak RSS), so the peak after is the invocation's own."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def memory(url: str, batch: int) -> dict:
    """Peak memory of one processor invocation on `batch` records (input already in memory, as in Lambda)."""
    import tracemalloc

    from bench.workload import records, sqs_bodies
    from ses_guard import database, processor
    from ses_guard.provenance import Source
    from ses_guard.settings import UsersTable
    from ses_guard.store import EventStore

    engine = database.build_engine(url)
    store = EventStore(engine, UsersTable())
    processor.process(records(sqs_bodies(3, "warmup")), store, Source())  # connect, compile: not part of the batch
    batch_records = records(sqs_bodies(batch, f"mem{time.time_ns()}"))
    gc.collect()
    rss_before = _status_mb("VmRSS")
    # VmHWM, not ru_maxrss: after fork+exec Linux carries the parent's peak into the child's ru_maxrss.
    lifetime_peak = _status_mb("VmHWM")  # read before the reset below
    peak_reset = _reset_peak_rss()
    tracemalloc.start()
    outcome = processor.process(batch_records, store, Source())
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    invocation_peak_rss = _status_mb("VmHWM") if peak_reset else float("nan")
    engine.dispose()
    return {
        "events": len(outcome.events),
        "tracemalloc_peak_mb": peak / 2**20,
        "rss_before_mb": rss_before,
        "invocation_peak_rss_mb": invocation_peak_rss,
        "max_rss_mb": max(lifetime_peak, invocation_peak_rss),
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
