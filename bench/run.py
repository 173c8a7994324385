"""`make bench`: what the event processor costs, measured on this machine, written to BENCHMARKS.md.

Timings on a small shared machine are noisy: every comparison below is a ratio of two figures measured
in the same run, interleaved, and every figure is the median of several rounds.

    python -m bench.run [--output BENCHMARKS.md] [--rounds 3] [--skip-terraform]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pymysql  # noqa: E402
from sqlalchemy import event as sa_event  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench import users_lookup  # noqa: E402
from bench.workload import BenchDatabase, batches, records, sqs_bodies  # noqa: E402

BATCH_SIZES = (1, 10, 100, 1000)
EVENTS_PER_ROUND = {1: 300, 10: 1000, 100: 3000, 1000: 6000}
LOG_COLUMNS_EXTRA = ("event_key",)
ZIP = ROOT / "dist" / "ses-guard-lambda.zip"
ZIP_GOAL_MB = 5.0
COLD_START_GOAL = 2.0
RAW_RATIO_GOAL = 0.5
STATEMENTS_GOAL = 4


def quiet_logs() -> None:
    """The processor logs one line per batch; the bench prints its own table instead."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from ses_guard.observability import logger

    logger.setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------------------
# Throughput: the processor vs a raw executemany of the same rows.


def prepared_rows(bodies: List[str]) -> Tuple[list, list, list]:
    """The rows the processor writes for these bodies (user rows, stranger rows, unregistered pairs)."""
    from ses_guard import store as store_module
    from ses_guard.parsing import parse_record

    user_ids = {"user1@example.com": 1, "user2@example.com": 2, "user3@example.com": 3}
    events = [event for record in records(bodies) for event in parse_record(record)]
    users = [
        dict(store_module._log_row(e), user_id=user_ids[e.recipient_key]) for e in events if e.recipient_key in user_ids
    ]
    strangers = [store_module._log_row(e) for e in events if e.recipient_key not in user_ids]
    pairs = store_module._pair_rows([e for e in events if e.recipient_key not in user_ids])
    return users, strangers, pairs


def _insert_sql(table: str, row: dict, placeholder: str) -> Tuple[str, List[str]]:
    columns = list(row)
    quoted = ", ".join(f"`{c}`" if placeholder == "%s" else f'"{c}"' for c in columns)
    values = ", ".join([placeholder] * len(columns))
    return f"INSERT INTO {table} ({quoted}) VALUES ({values})", columns  # noqa: S608 (our own table names)


class RawWriter:
    """The floor: rows already built, the bare driver's executemany per table, one commit per batch."""

    TABLES = ("user_email_log", "unvalidated_email_log", "unregistered_recipient")

    def __init__(self, db: BenchDatabase) -> None:
        if db.kind == "sqlite":
            self.connection = sqlite3.connect(make_url(db.url).database, timeout=30)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.placeholder = "?"
        else:
            url = make_url(db.url)
            self.connection = pymysql.connect(
                host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                database=url.database, charset="utf8mb4",
            )  # fmt: skip
            self.placeholder = "%s"

    def prepare(self, bodies: List[str]) -> List[Tuple[str, list]]:
        """(statement, parameter tuples) per table for one batch: built before the clock starts."""
        sqlite_dates = self.placeholder == "?"
        prepared = []
        for table, rows in zip(self.TABLES, prepared_rows(bodies)):
            if rows:
                sql, columns = _insert_sql(table, rows[0], self.placeholder)
                values = [
                    tuple(
                        row[c].isoformat(sep=" ", timespec="microseconds")
                        if sqlite_dates and isinstance(row[c], datetime)
                        else row[c]
                        for c in columns
                    )
                    for row in rows
                ]
                prepared.append((sql, values))
        return prepared

    def write(self, batch: List[Tuple[str, list]]) -> None:
        cursor = self.connection.cursor()
        for sql, values in batch:
            cursor.executemany(sql, values)
        self.connection.commit()
        cursor.close()

    def close(self) -> None:
        self.connection.close()


def paired_round(db: BenchDatabase, size: int, tag: str, slices: int = 30) -> Tuple[float, float]:
    """Processor and raw rates (events/s) for one round, measured in alternating slices.

    The two alternate batch by batch, so that whatever else the machine does at that moment slows
    both alike; their ratio is what the goal compares.
    """
    from ses_guard import processor
    from ses_guard.settings import UsersTable
    from ses_guard.store import EventStore

    events = EVENTS_PER_ROUND[size]
    engine = db.engine()
    store = EventStore(engine, UsersTable())
    raw = RawWriter(db)
    processor.process(records(sqs_bodies(2, f"{tag}w")), store)  # connection and statement caches warm
    raw.write(raw.prepare(sqs_bodies(2, f"{tag}rw")))
    processor_work = batches(records(sqs_bodies(events, f"{tag}p")), size)
    raw_work = [raw.prepare(chunk) for chunk in batches(sqs_bodies(events, f"{tag}r"), size)]
    slices = min(slices, len(processor_work))
    processor_seconds = raw_seconds = 0.0
    stored = 0
    for part in range(slices):
        started = time.perf_counter()
        for batch in processor_work[part::slices]:
            stored += len(processor.process(batch, store).events)
        processor_seconds += time.perf_counter() - started
        started = time.perf_counter()
        for batch in raw_work[part::slices]:
            raw.write(batch)
        raw_seconds += time.perf_counter() - started
    raw.close()
    engine.dispose()
    assert stored == events
    return events / processor_seconds, events / raw_seconds


def statements_per_batch(db: BenchDatabase, size: int) -> Dict[str, int]:
    """SQL statements one batch sends: as SQLAlchemy issues them, and (MariaDB) as the server counts them."""
    from ses_guard import processor
    from ses_guard.settings import UsersTable
    from ses_guard.store import EventStore

    engine = db.engine()
    store = EventStore(engine, UsersTable())
    processor.process(records(sqs_bodies(2, f"st{size}w")), store)
    statements: List[str] = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    # Server side: Questions counts every statement the connection sent (COMMIT, and the ROLLBACK the pool
    # sends when a connection is returned, included). Reading it costs a SHOW and a pool ROLLBACK: measured
    # with nothing in between, and subtracted.
    baseline = -_server_questions(engine) + _server_questions(engine)
    server_before = _server_questions(engine)
    statements.clear()
    processor.process(records(sqs_bodies(size, f"st{size}")), store)
    sent = [s.split(None, 1)[0].upper() for s in statements if not s.startswith("SHOW ")]
    result = {"sqlalchemy": len(sent), "kinds": ", ".join(f"{k} x{sent.count(k)}" for k in dict.fromkeys(sent))}
    if db.kind != "sqlite":
        result["server"] = _server_questions(engine) - server_before - baseline
    engine.dispose()
    return result


def _server_questions(engine) -> int:
    if engine.dialect.name == "sqlite":
        return 0
    with engine.connect() as connection:
        return int(connection.execute(text("SHOW SESSION STATUS LIKE 'Questions'")).one()[1])


# ------------------------------------------------------------------------------------------------
# Subprocess probes: memory and cold start.


def run_probe(*args: str) -> dict:
    completed = subprocess.run(  # noqa: S603 (our interpreter, our probe)
        [sys.executable, "-m", "bench.probes", *args],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    return json.loads(completed.stdout.strip().splitlines()[-1])


def lambda_memory_default() -> Tuple[Optional[int], str]:
    variables = ROOT / "variables.tf"
    if not variables.exists():
        return None, "variables.tf not found"
    match = re.search(r'variable\s+"lambda_memory_size"\s*{[^}]*?default\s*=\s*(\d+)', variables.read_text(), re.DOTALL)
    if not match:
        return None, 'variables.tf has no "lambda_memory_size" default'
    return int(match.group(1)), "variables.tf: lambda_memory_size default"


def cold_start(runs: int) -> Dict[str, float]:
    """Import time in a fresh interpreter, handler module vs boto3 alone, runs interleaved; medians."""
    for module in ("boto3", "ses_guard.handlers"):  # first imports write .pyc files: not a cold start
        run_probe("import", module)
    handler, boto = [], []
    for _ in range(runs):
        boto.append(run_probe("import", "boto3")["seconds"])
        handler.append(run_probe("import", "ses_guard.handlers")["seconds"])
    return {
        "handler_s": statistics.median(handler),
        "boto3_s": statistics.median(boto),
        "ratio": statistics.median(h / b for h, b in zip(handler, boto)),  # each pair measured back to back
    }


# ------------------------------------------------------------------------------------------------
# Terraform against the emulator.


def terraform_timings() -> Dict[str, object]:
    from bench import terraform_emulator

    return terraform_emulator.measure(ROOT)


# ------------------------------------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold-start-runs", type=int, default=15)
    parser.add_argument("--skip-terraform", action="store_true")
    args = parser.parse_args(argv)
    quiet_logs()
    mysql_url = os.environ.get("SES_GUARD_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
    started = time.monotonic()

    lines: List[str] = []
    rates: Dict[Tuple[str, int, str], List[float]] = {}
    statements: Dict[Tuple[str, int], Dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="ses-guard-bench-") as workdir:
        for kind in ("sqlite", "mariadb"):
            db = BenchDatabase("sqlite" if kind == "sqlite" else "mysql", mysql_url, workdir)
            try:
                for round_number in range(args.rounds):
                    for size in BATCH_SIZES:
                        proc, raw = paired_round(db, size, f"{kind}-{size}-{round_number}")
                        rates.setdefault((kind, size, "processor"), []).append(proc)
                        rates.setdefault((kind, size, "raw"), []).append(raw)
                        rates.setdefault((kind, size, "ratio"), []).append(proc / raw)
                        print(f"  {kind:7} batch {size:5}: processor {fmt_rate(proc)} ev/s, raw {fmt_rate(raw)} ev/s, "
                              f"ratio {proc / raw:.2f}", file=sys.stderr)  # fmt: skip
                for size in BATCH_SIZES:
                    statements[kind, size] = statements_per_batch(db, size)
                memory = run_probe("memory", "--url", db.url, "--batch", "1000") if kind == "mariadb" else None
                if memory:
                    statements["memory"] = memory  # type: ignore[index]
            finally:
                db.close()
    memory = statements.pop("memory")  # type: ignore[arg-type]
    memory_sqlite = None
    with tempfile.TemporaryDirectory(prefix="ses-guard-bench-") as workdir:
        db = BenchDatabase("sqlite", mysql_url, workdir)
        memory_sqlite = run_probe("memory", "--url", db.url, "--batch", "1000")
        db.close()
    lookup = users_lookup.measure(mysql_url)
    cold = cold_start(args.cold_start_runs)
    zip_mb = ZIP.stat().st_size / 1e6 if ZIP.exists() else None
    terraform = {"available": False, "reason": "skipped (--skip-terraform)"} if args.skip_terraform else None
    if terraform is None:
        try:
            terraform = terraform_timings()
        except Exception as error:  # reported, never invented
            terraform = {"available": False, "reason": f"failed: {type(error).__name__}: {str(error)[:300]}"}

    median = {key: statistics.median(values) for key, values in rates.items()}
    elapsed = time.monotonic() - started
    lines += render(args, rates, median, statements, lookup, memory, memory_sqlite, cold, zip_mb, terraform, elapsed)
    report = "\n".join(lines) + "\n"
    Path(args.output).write_text(report)
    print(report)
    return 0


def render(
    args, rates, median, statements, lookup, memory, memory_sqlite, cold, zip_mb, terraform, elapsed
) -> List[str]:
    memory_limit, memory_source = lambda_memory_default()
    out = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (reproduce: `make bench`, i.e. `.venv/bin/python -m bench.run`) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (shared), {platform.machine()}; MariaDB "
        f"{mariadb_version()} on loopback; SQLite {sqlite3.sqlite_version} on local disk. "
        f"Medians of {args.rounds} rounds; the whole run took {elapsed:.0f} s.",
        "",
        "Workload: SQS records carrying SNS envelopes of SES Delivery notifications, one recipient each "
        "(3 in 10 are users, the rest strangers, all distinct), as the Lambda receives them. The processor "
        "(`ses_guard.processor.process`) parses, looks up users, inserts and counts, as in the Lambda. "
        "The raw floor inserts the same "
        "rows, already built, with the bare driver's `executemany` (PyMySQL / sqlite3) and one commit per "
        "batch: no parsing, no lookup, no duplicate handling. Within a round the processor and the raw "
        "writer alternate batch by batch on the same database, so both see the same load; the ratio "
        "column is the median of the per-round ratios.",
        "",
        "## Event processor throughput (recipient events per second)",
        "",
        "| batch size | SQLite processor | SQLite raw sqlite3 | ratio "
        "| MariaDB processor | MariaDB raw PyMySQL | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in BATCH_SIZES:
        cells = [f"{size:,}"]
        for kind in ("sqlite", "mariadb"):
            proc, raw = median[kind, size, "processor"], median[kind, size, "raw"]
            cells += [fmt_rate(proc), fmt_rate(raw), f"{median[kind, size, 'ratio']:.2f}"]
        out.append("| " + " | ".join(cells) + " |")
    ratio = median["mariadb", 100, "ratio"]
    spread = rates["mariadb", 100, "ratio"]
    out += [
        "",
        f"Goal: at batch 100 on MariaDB, at least {RAW_RATIO_GOAL} of the raw rate. Measured: **{ratio:.2f}** "
        f"({'met' if ratio >= RAW_RATIO_GOAL else 'NOT met'}; per round: "
        f"{', '.join(f'{r:.2f}' for r in spread)}).",
        "",
        "## SQL statements per batch",
        "",
        "| batch size | SQLite (SQLAlchemy) | MariaDB (SQLAlchemy) | which "
        "| MariaDB round trips (server `Questions`) |",
        "|---:|---:|---:|---|---:|",
    ]
    for size in BATCH_SIZES:
        sqlite_count = statements["sqlite", size]["sqlalchemy"]
        maria = statements["mariadb", size]
        out.append(f"| {size:,} | {sqlite_count} | {maria['sqlalchemy']} | {maria['kinds']} | {maria['server']} |")
    worst = max(statements[k]["sqlalchemy"] for k in statements)
    out += [
        "",
        f"Goal: at most {STATEMENTS_GOAL} whatever the size (one users lookup, one insert per table). Measured: "
        f"at most **{worst}** ({'met' if worst <= STATEMENTS_GOAL else 'NOT met'}). Counted with an SQLAlchemy "
        "`before_cursor_execute` listener; an `executemany` is one statement. The server's count adds each "
        "transaction's COMMIT and the ROLLBACK SQLAlchemy's pool sends when a connection is returned. Measured "
        "after a first batch: a container's first batch on MySQL/MariaDB also reads and probes the email "
        "column's collation, once (see the users lookup below).",
        "",
        "## Users lookup against a large users table",
        "",
        f"One batch's lookup of {lookup['addresses']} addresses ({users_lookup.USER_SHARE} of them users) in a "
        f"MariaDB users table of {lookup['users']:,} rows whose `email_address` column is indexed and "
        "case-insensitive (utf8mb4_unicode_ci, addresses stored in mixed case); `ses_guard.users.UserLookup` "
        "on a warm connection and buffer pool, medians.",
        "",
        "| `USERS_EMAIL_LOOKUP` | how the column is searched | median | runs | users found |",
        "|---|---|---:|---:|---:|",
    ]
    for mode, how in (("auto", "through its index (collation ignores case and trailing spaces)"),
                      ("scan", "`LOWER(TRIM(email_address))` of every row")):  # fmt: skip
        measured = lookup[mode]
        used = "index" if measured["uses_index"] else "scan"
        out.append(f"| `{mode}` ({used}) | {how} | {measured['median_ms']:,.1f} ms | {measured['runs']} | "
                   f"{measured['found']} |")  # fmt: skip
    out += [
        "",
        "## Peak memory of one invocation (batch of 1,000 records)",
        "",
        "Measured in a fresh interpreter: imports done, connection open, the 1,000 SQS records already in "
        "memory (as in Lambda), then one `process()` call.",
        "",
        "| database | RSS before the call | peak RSS during the call (VmHWM, reset before it) "
        "| Python heap peak of the call (tracemalloc) | process peak RSS (VmHWM, whole life) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, probe in (("SQLite", memory_sqlite), ("MariaDB", memory)):
        out.append(
            f"| {label} | {probe['rss_before_mb']:.1f} MB | {probe['invocation_peak_rss_mb']:.1f} MB | "
            f"{probe['tracemalloc_peak_mb']:.1f} MB | {probe['max_rss_mb']:.1f} MB |"
        )
    peak = max(memory["max_rss_mb"], memory_sqlite["max_rss_mb"])
    if memory_limit:
        share = peak / memory_limit
        out += ["", f"Lambda memory size: {memory_limit} MB ({memory_source}). The process's lifetime peak RSS "
                f"(interpreter, imports, building the input, the call) is {share:.0%} of it."]  # fmt: skip
    else:
        out += ["", f"Lambda memory size: not available ({memory_source})."]
    out += [
        "",
        "## Cold start and package",
        "",
        "| measure | value | goal |",
        "|---|---:|---:|",
        f"| `import ses_guard.handlers` in a fresh interpreter (median of {args.cold_start_runs}) | "
        f"{cold['handler_s'] * 1000:.0f} ms | |",
        f"| `import boto3` alone in a fresh interpreter (median of {args.cold_start_runs}) | "
        f"{cold['boto3_s'] * 1000:.0f} ms | |",
        f"| ratio handler / boto3 (median of the {args.cold_start_runs} back-to-back pairs) | "
        f"**{cold['ratio']:.2f}** | at most {COLD_START_GOAL} |",
    ]
    if zip_mb is not None:
        out.append(f"| `dist/ses-guard-lambda.zip` (`make build`) | **{zip_mb:.2f} MB** | at most {ZIP_GOAL_MB} MB |")
    else:
        out.append("| `dist/ses-guard-lambda.zip` | not available: `make build` did not produce it | "
                   f"at most {ZIP_GOAL_MB} MB |")  # fmt: skip
    out += ["", "## Terraform against the emulator (`examples/complete`)", ""]
    if terraform.get("available"):
        out += [
            f"Terraform {terraform['terraform_version']}, aws provider {terraform['provider_version']}, against "
            f"the moto server with the project's SES/SQS extensions (tests/support) on loopback; "
            f"{terraform['resources']} resources.",
            "",
            "| step | wall time | result |",
            "|---|---:|---|",
        ]
        for step in terraform["steps"]:
            out.append(f"| `terraform {step['name']}` | {step['seconds']:.1f} s | {step['result']} |")
    else:
        out.append(f"Not available: {terraform['reason']}")
    return out


def mariadb_version() -> str:
    try:
        url = make_url(os.environ.get("SES_GUARD_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"))
        connection = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username,
                                     password=url.password or "")  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            version = cursor.fetchone()[0]
        connection.close()
        return version
    except Exception:
        return "(version unknown)"


if __name__ == "__main__":
    sys.exit(main())
