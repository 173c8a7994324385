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

from bench import cost, simple_design, users_lookup  # noqa: E402
from bench.workload import USER_SHARE, USERS, BenchDatabase, batches, records, sqs_bodies  # noqa: E402

THROUGHPUT_SIZES = (1, 10, 100)
STATEMENT_SIZES = (1, 10, 100, 1000)
EVENTS_PER_ROUND = {1: 300, 10: 1000, 100: 3000}
SIMPLE_DESIGN_EVENTS = 100  # per size and round: the simple design handles a few dozen a second
SIMPLE_DESIGN_ROUNDS = 3  # its per-round ratios vary little; fewer rounds keep `make bench` under 10 minutes
MANUAL_BEGIN = "<!-- manual section: make bench keeps what is between these two lines -->"
MANUAL_END = "<!-- end of manual section -->"
ZIP = ROOT / "dist" / "ses-guard-lambda.zip"
ZIP_GOAL_MB = 5.0
COLD_START_GOAL = 2.0
RAW_RATIO_GOAL = 0.5
SIMPLE_DESIGN_GOAL = 20
STATEMENTS_GOAL = 4


def quiet_logs() -> None:
    """The processor logs one line per batch; the bench prints its own table instead."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    from ses_guard.observability import logger

    logger.setLevel(logging.WARNING)


# ------------------------------------------------------------------------------------------------
# Throughput: the processor vs the bare driver doing the same lookup and inserts.


class RawWriter:
    """The floor: the bare driver (PyMySQL / sqlite3); per batch one indexed IN query for the users, one
    executemany per table, one commit. Rows are built before the clock starts, all but their user_id, which
    the lookup supplies: no parsing, no deduplication, no counting."""

    TABLES = ("user_email_log", "unvalidated_email_log", "unregistered_recipient")

    def __init__(self, db: BenchDatabase) -> None:
        if db.kind == "sqlite":
            self.connection = sqlite3.connect(make_url(db.url).database, timeout=30)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.placeholder = "?"
            # The column normalized as the processor does on SQLite, through the index on that expression.
            self.lookup = "SELECT lower(trim(email_address)), user_id FROM users WHERE lower(trim(email_address)) IN "
        else:
            url = make_url(db.url)
            self.connection = pymysql.connect(
                host=url.host, port=url.port or 3306, user=url.username, password=url.password or "",
                database=url.database, charset="utf8mb4",
            )  # fmt: skip
            self.placeholder = "%s"
            # The case-insensitive collation compares, through the column's index.
            self.lookup = "SELECT email_address, user_id FROM users WHERE email_address IN "
        self.statements: Optional[List[str]] = None
        self.user_rows = 0

    def prepare(self, bodies: List[str]) -> List[Tuple[str, tuple, tuple]]:
        """(recipient key, log row values, unregistered pair values) per event."""
        from ses_guard import store as store_module
        from ses_guard.parsing import parse_record

        events = [event for record in records(bodies) for event in parse_record(record)]
        log_rows = [store_module._log_row(event) for event in events]
        pair_rows = [store_module._pair_rows([event])[0] for event in events]
        if self.statements is None:
            columns = ([*log_rows[0], "user_id"], list(log_rows[0]), list(pair_rows[0]))
            self.statements = [
                _insert_sql(table, names, self.placeholder) for table, names in zip(self.TABLES, columns)
            ]
        return [
            (event.recipient_key, self._values(log_row), self._values(pair_row))
            for event, log_row, pair_row in zip(events, log_rows, pair_rows)
        ]

    def _values(self, row: dict) -> tuple:
        sqlite_dates = self.placeholder == "?"
        return tuple(
            value.isoformat(sep=" ", timespec="microseconds") if sqlite_dates and isinstance(value, datetime) else value
            for value in row.values()
        )

    def write(self, batch: List[Tuple[str, tuple, tuple]]) -> None:
        cursor = self.connection.cursor()
        keys = sorted({key for key, _, _ in batch})
        cursor.execute(self.lookup + "(" + ", ".join([self.placeholder] * len(keys)) + ")", keys)
        found = {address.lower(): user_id for address, user_id in cursor.fetchall()}
        users = [(*values, found[key]) for key, values, _ in batch if key in found]
        unregistered = [values for key, values, _ in batch if key not in found]
        pairs = [pair for key, _, pair in batch if key not in found]
        for sql, rows in zip(self.statements or [], (users, unregistered, pairs)):
            if rows:
                cursor.executemany(sql, rows)
        self.connection.commit()
        cursor.close()
        self.user_rows += len(users)

    def close(self) -> None:
        self.connection.close()


def _insert_sql(table: str, columns: List[str], placeholder: str) -> str:
    quoted = ", ".join(f"`{c}`" if placeholder == "%s" else f'"{c}"' for c in columns)
    return f"INSERT INTO {table} ({quoted}) VALUES ({', '.join([placeholder] * len(columns))})"  # noqa: S608


def paired_round(db: BenchDatabase, size: int, tag: str, slices: int = 30) -> Tuple[float, float]:
    """Processor and raw rates (events/s) for one round, measured in alternating slices.

    The two alternate batch by batch, so that whatever else the machine does at that moment slows
    both alike; their ratio is what the goal compares.
    """
    from ses_guard import processor
    from ses_guard.provenance import Source
    from ses_guard.settings import UsersTable
    from ses_guard.store import EventStore

    events = EVENTS_PER_ROUND[size]
    engine = db.engine()
    store = EventStore(engine, UsersTable())
    raw = RawWriter(db)
    processor.process(records(sqs_bodies(2, f"{tag}w")), store, Source())  # connection and statement caches warm
    raw.write(raw.prepare(sqs_bodies(2, f"{tag}rw")))
    processor_work = batches(records(sqs_bodies(events, f"{tag}p")), size)
    raw_work = [raw.prepare(chunk) for chunk in batches(sqs_bodies(events, f"{tag}r"), size)]
    slices = min(slices, len(processor_work))
    processor_seconds = raw_seconds = 0.0
    stored = user_rows = 0
    raw.user_rows = 0
    for part in range(slices):
        started = time.perf_counter()
        for batch in processor_work[part::slices]:
            outcome = processor.process(batch, store, Source())
            stored += len(outcome.events)
            user_rows += outcome.stored.user_rows
        processor_seconds += time.perf_counter() - started
        started = time.perf_counter()
        for batch in raw_work[part::slices]:
            raw.write(batch)
        raw_seconds += time.perf_counter() - started
    raw.close()
    engine.dispose()
    # Both found every user among the recipients: the lookups did the same work.
    assert stored == events and user_rows == raw.user_rows == round(events * USER_SHARE), (user_rows, raw.user_rows)
    return events / processor_seconds, events / raw_seconds


def statements_per_batch(db: BenchDatabase, size: int) -> Dict[str, int]:
    """SQL statements one batch sends: as SQLAlchemy issues them, and (MariaDB) as the server counts them."""
    from ses_guard import processor
    from ses_guard.provenance import Source
    from ses_guard.settings import UsersTable
    from ses_guard.store import EventStore

    engine = db.engine()
    store = EventStore(engine, UsersTable())
    processor.process(records(sqs_bodies(2, f"st{size}w")), store, Source())
    statements: List[str] = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    # Server side: Questions counts every statement the connection sent (COMMIT, and the ROLLBACK the pool
    # sends when a connection is returned, included). Reading it costs a SHOW and a pool ROLLBACK: measured
    # with nothing in between, and subtracted.
    baseline = -_server_questions(engine) + _server_questions(engine)
    server_before = _server_questions(engine)
    statements.clear()
    processor.process(records(sqs_bodies(size, f"st{size}")), store, Source())
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


def variable_default(name: str) -> Tuple[Optional[int], str]:
    """A numeric default of the module's variables.tf, and where it was read (or why it could not be)."""
    variables = ROOT / "variables.tf"
    if not variables.exists():
        return None, "variables.tf not found"
    match = re.search(rf'variable\s+"{name}"\s*{{[^}}]*?default\s*=\s*(\d+)', variables.read_text(), re.DOTALL)
    if not match:
        return None, f'variables.tf has no "{name}" default'
    return int(match.group(1)), f"variables.tf: {name} default"


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

    rates: Dict[Tuple[str, int, str], List[float]] = {}
    statements: Dict[Tuple[str, int], Dict[str, int]] = {}
    memory: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="ses-guard-bench-") as workdir:
        # Built once, each with its million users, and used by every measurement below.
        databases = {"sqlite": BenchDatabase("sqlite", mysql_url, workdir)}
        try:
            databases["mariadb"] = BenchDatabase("mysql", mysql_url, workdir)
            loads = {kind: db.users_load_seconds for kind, db in databases.items()}
            for kind, db in databases.items():
                for round_number in range(args.rounds):
                    for size in THROUGHPUT_SIZES:
                        proc, raw = paired_round(db, size, f"{kind}-{size}-{round_number}")
                        rates.setdefault((kind, size, "processor"), []).append(proc)
                        rates.setdefault((kind, size, "raw"), []).append(raw)
                        rates.setdefault((kind, size, "ratio"), []).append(proc / raw)
                        print(f"  {kind:7} batch {size:5}: processor {fmt_rate(proc)} ev/s, raw {fmt_rate(raw)} ev/s, "
                              f"ratio {proc / raw:.2f}", file=sys.stderr)  # fmt: skip
                for size in STATEMENT_SIZES:
                    statements[kind, size] = statements_per_batch(db, size)
                memory[kind] = run_probe("memory", "--url", db.url, "--batch", "1000")
            lookup = users_lookup.measure(databases["mariadb"])
            simple = simple_design.measure(
                databases["mariadb"], THROUGHPUT_SIZES, min(args.rounds, SIMPLE_DESIGN_ROUNDS), SIMPLE_DESIGN_EVENTS
            )
        finally:
            for db in databases.values():
                db.close()
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
    lines = render(args, rates, median, statements, lookup, memory, cold, zip_mb, terraform, elapsed)
    # The simple design and the costs follow the throughput they are compared with.
    at = lines.index("## SQL statements per batch")
    lines[at:at] = render_simple_design(simple)
    lines += ["", *render_database(loads)]
    output = Path(args.output)
    lines += [MANUAL_BEGIN, *manual_section(output, lines), MANUAL_END]
    report = "\n".join(lines) + "\n"
    output.write_text(report)
    print(report)
    return 0


def manual_section(path: Path, generated: List[str]) -> List[str]:
    """What people wrote in the previous report, kept as it is: the lines between the manual markers, and any
    section (a `## ` heading and what follows it) whose heading this run does not write."""
    if not path.exists():
        return []
    previous = path.read_text().splitlines()
    kept: List[str] = []
    if MANUAL_BEGIN in previous and MANUAL_END in previous:
        begin, end = previous.index(MANUAL_BEGIN), previous.index(MANUAL_END)
        kept, previous = previous[begin + 1 : end], previous[:begin] + previous[end + 1 :]
    headings = {line for line in generated if line.startswith("## ")}
    keeping = False
    for line in previous:
        if line.startswith("#"):
            keeping = line.startswith("## ") and line not in headings
        if keeping:
            kept.append(line)
    return kept


def render(args, rates, median, statements, lookup, memory, cold, zip_mb, terraform, elapsed) -> List[str]:
    memory_limit, memory_source = variable_default("lambda_memory_size")
    out = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` (reproduce: `make bench`, i.e. `.venv/bin/python -m bench.run`) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (shared), {platform.machine()}; MariaDB "
        f"{mariadb_version()} on loopback; SQLite {sqlite3.sqlite_version} on local disk. "
        f"Medians of {args.rounds} rounds; the whole run took {elapsed:.0f} s.",
        "",
        f"Workload: SQS records carrying SNS envelopes of SES Delivery notifications, one recipient each, all "
        f"distinct, as the Lambda receives them; {USER_SHARE:.0%} of the recipients are users, spread over a users "
        f"table of {USERS:,} rows (addresses stored in mixed case, the recipients lower-case). The tables are "
        "built once per run (see the last section) and shared by every measurement. On MariaDB the email column "
        "is indexed with a case-insensitive PAD SPACE collation (utf8mb4_unicode_ci); on SQLite, which has no such "
        "collation, the processor normalizes the column in SQL (`lower(trim(email_address))`), which an index on "
        "that expression serves.",
        "",
        "The processor (`ses_guard.processor.process`) parses, looks up users, inserts and counts, as in the "
        "Lambda. The raw floor does the same useful work with the bare driver (PyMySQL / sqlite3), its clock "
        "running from the lookup to the commit: one indexed `IN` query for the batch's recipients (the same "
        "index the processor uses), then one `executemany` per table (user rows with the user_id found, "
        "unregistered-recipient rows, unregistered pairs) and one commit. Its rows are built before its clock "
        "starts, all but the user_id: no parsing, no deduplication, no counting. Within a round the processor "
        "and the floor alternate batch by batch on the same database, so both see the same load; after each "
        "round the bench checks that both found every user. The ratio column is the median of the per-round "
        "ratios.",
        "",
        "## Event processor throughput (recipient events per second)",
        "",
        "| batch size | SQLite processor | SQLite floor (sqlite3) | ratio "
        "| MariaDB processor | MariaDB floor (PyMySQL) | ratio |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in THROUGHPUT_SIZES:
        cells = [f"{size:,}"]
        for kind in ("sqlite", "mariadb"):
            proc, raw = median[kind, size, "processor"], median[kind, size, "raw"]
            cells += [fmt_rate(proc), fmt_rate(raw), f"{median[kind, size, 'ratio']:.2f}"]
        out.append("| " + " | ".join(cells) + " |")
    ratio = median["mariadb", 100, "ratio"]
    spread = rates["mariadb", 100, "ratio"]
    out += [
        "",
        f"Goal: at batch 100 on MariaDB with {USERS:,} users, at least {RAW_RATIO_GOAL} of the floor's rate. "
        f"Measured: **{ratio:.2f}** "
        f"({'met' if ratio >= RAW_RATIO_GOAL else 'NOT met'}; per round: "
        f"{', '.join(f'{r:.2f}' for r in spread)}).",
        "",
        "## SQL statements per batch",
        "",
        "| batch size | SQLite (SQLAlchemy) | MariaDB (SQLAlchemy) | which "
        "| MariaDB round trips (server `Questions`) |",
        "|---:|---:|---:|---|---:|",
    ]
    for size in STATEMENT_SIZES:
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
        f"One batch's lookup of {lookup['addresses']} addresses ({users_lookup.USER_SHARE} of them users) in the "
        f"MariaDB users table of {lookup['users']:,} rows above; `ses_guard.users.UserLookup` on a warm connection "
        "and buffer pool, medians.",
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
    for label, probe in (("SQLite", memory["sqlite"]), ("MariaDB", memory["mariadb"])):
        out.append(
            f"| {label} | {probe['rss_before_mb']:.1f} MB | {probe['invocation_peak_rss_mb']:.1f} MB | "
            f"{probe['tracemalloc_peak_mb']:.1f} MB | {probe['max_rss_mb']:.1f} MB |"
        )
    peak = max(probe["max_rss_mb"] for probe in memory.values())
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


def render_simple_design(simple: Dict[str, object]) -> List[str]:
    rounds: Dict[int, List[Dict[str, float]]] = simple["rounds"]  # type: ignore[assignment]
    duplicates: Dict[str, int] = simple["redelivery"]  # type: ignore[assignment]
    memory_mb, memory_source = variable_default("lambda_memory_size")
    batch_size, batch_source = variable_default("event_batch_size")
    if memory_mb is None or batch_size is None:
        raise RuntimeError(f"cannot price the designs: {memory_source}; {batch_source}")
    out = [
        "## Against the simple design",
        "",
        "The design this project replaces, written in `bench/simple_design.py` from issue 15's description: a "
        "Lambda subscribed straight to the SNS topic (one record per invocation) that on each invocation fetches "
        "the database credentials from Secrets Manager and opens a connection, then for each recipient runs one "
        "SELECT on the users table, one INSERT and one commit, and one synchronous `PutMetricData` per "
        "unregistered recipient. Secrets Manager and CloudWatch are the moto server (tests/support) in its own "
        "process on loopback: real AWS calls take longer. It is invoked one record at a time on the same events "
        "and the same MariaDB database as the processor, which receives them in SQS batches through its Lambda "
        "handler path (`lambda_events.process_event`, EMF metric flushed per invocation); the two alternate slice by "
        f"slice, {SIMPLE_DESIGN_EVENTS} events each per batch size and round, medians of "
        f"{len(next(iter(rounds.values())))} rounds.",
        "",
        "| processor batch size | processor | simple design | processor / simple design | per round |",
        "|---:|---:|---:|---:|---|",
    ]
    ratios = {}
    for size, measured in rounds.items():
        per_round = [m["processor_rate"] / m["simple_rate"] for m in measured]
        ratios[size] = statistics.median(per_round)
        out.append(
            f"| {size:,} | {fmt_rate(statistics.median(m['processor_rate'] for m in measured))} ev/s "
            f"| {fmt_rate(statistics.median(m['simple_rate'] for m in measured))} ev/s | **{ratios[size]:.0f}x** "
            f"| {', '.join(f'{r:.0f}' for r in per_round)} |"
        )
    default_ratio = ratios.get(batch_size)
    out += [
        "",
        f"Goal: at the default batch size ({batch_size}, {batch_source}), at least {SIMPLE_DESIGN_GOAL}x the simple "
        f"design. Measured: **{default_ratio:.0f}x** ({'met' if default_ratio >= SIMPLE_DESIGN_GOAL else 'NOT met'}).",
        "",
        f"Redelivery: {duplicates['events']} events delivered, then {duplicates['redelivered']} of them "
        f"({duplicates['redelivered'] / duplicates['events']:.0%}) delivered again, as SNS and SQS may; "
        f"{duplicates['unregistered']} of the events are to unregistered recipients.",
        "",
        "| | rows stored in the log tables | EmailNotRegisteredCount reported |",
        "|---|---:|---:|",
        f"| processor (batches of {batch_size}) | {duplicates['processor_rows']} | {duplicates['processor_counted']} |",
        f"| simple design | {duplicates['simple_rows']} | {duplicates['simple_counted']} |",
        "",
    ]
    return out + render_cost(rounds, batch_size, memory_mb)


def render_database(loads: Dict[str, float]) -> List[str]:
    return [
        "## Building the benchmark database",
        "",
        f"The {USERS:,}-row users table, loaded once per run in the database itself (MariaDB's sequence engine, "
        f"SQLite's recursive CTE), then indexed: MariaDB {loads['mariadb']:.1f} s, SQLite {loads['sqlite']:.1f} s.",
        "",
    ]


def render_cost(rounds: Dict[int, List[Dict[str, float]]], batch_size: int, memory_mb: int) -> List[str]:
    at_default = rounds[batch_size]
    everything = [m for measured in rounds.values() for m in measured]
    body_bytes = round(statistics.mean(len(body.encode()) for body in sqs_bodies(100, "size")))
    share = USER_SHARE
    designs = (
        cost.Design(
            "processor", batch_size,
            1 / statistics.median(m["processor_rate"] for m in at_default),
            statistics.median(m["processor_cpu_per_event"] for m in at_default),
            cost.sqs_receive_requests(batch_size, body_bytes), 1, 0, 0,
        ),
        cost.Design(
            "simple design", 1,
            1 / statistics.median(m["simple_rate"] for m in everything),
            statistics.median(m["simple_cpu_per_event"] for m in everything),
            0, 0, 1 - share, 1,
        ),
    )  # fmt: skip
    lines = {design.name: cost.per_million(design, memory_mb) for design in designs}
    out = [
        "## Cost per million events",
        "",
        f"AWS charges for 1,000,000 SES events (one recipient each, {1 - share:.0%} to unregistered recipients) at "
        f"the module's defaults ({memory_mb} MB, batches of {batch_size}), from the figures measured above: the "
        f"processor's time per event at batch {batch_size}, the simple design's over all its rounds, each split "
        "into CPU time (this process) and waiting (database, AWS calls). Lambda bills each invocation's duration "
        f"in whole milliseconds. At {memory_mb} MB a function has about {memory_mb / cost.MB_PER_VCPU:.2f} of a "
        "vCPU (one at 1,769 MB), and this machine's cores are faster than that share: the second duration line "
        "runs the measured CPU time at that share, a closer estimate of what AWS bills.",
        "",
        "| | processor | | simple design | |",
        "|---|---:|---:|---:|---:|",
    ]
    for (label, quantity, dollars), (_, simple_quantity, simple_dollars) in zip(*lines.values()):
        out.append(f"| {label} | {quantity} | ${dollars:,.3f} | {simple_quantity} | ${simple_dollars:,.3f} |")
    processor_totals, simple_totals = cost.totals(lines["processor"]), cost.totals(lines["simple design"])
    out += [
        f"| **total, duration as measured** | | **${processor_totals[0]:,.2f}** | | **${simple_totals[0]:,.2f}** |",
        f"| **total, CPU time at {memory_mb} MB** | | **${processor_totals[1]:,.2f}** | | "
        f"**${simple_totals[1]:,.2f}** |",
        "",
        f"SQS: SNS's delivery into the queue (one request per event: a body of {body_bytes:,} bytes is one 64 KB "
        "chunk), and per invocation the Lambda poller's ReceiveMessage (one per 64 KB of the batch) and "
        "DeleteMessageBatch; the poller's empty receives while the queue is idle depend on time, not on events, "
        "and are left out. The processor publishes EmailNotRegisteredCount through its log (EMF): no "
        "PutMetricData call; it reads its database secret once per container, not per event. SNS deliveries to "
        "Lambda and to SQS carry no SNS charge. Not counted, for either: CloudWatch Logs ingestion, data transfer, "
        "the database, the free tiers.",
        "",
        f"Unit prices (US East, N. Virginia, x86, on-demand), read {cost.PRICES_READ} from stored copies of the "
        f"public pages (this machine has no internet; not re-checked against the live price list): "
        f"{cost.PRICES_SOURCE}.",
        "",
    ]
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
