"""`ses-guard`: the operator's command line (schema, replay, automation)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ses_guard import database, migrate, parsing, processor, schema
from ses_guard.observability import log_to_stderr
from ses_guard.parsing import InboundRecord
from ses_guard.settings import ConfigurationError, Settings, get_settings


class UsageError(Exception):
    """Bad input from the operator: printed as one line, exit status 2."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    log_to_stderr()
    try:
        return args.run(args, get_settings())
    except (ConfigurationError, UsageError) as error:
        print(f"ses-guard: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ses-guard",
        description="Keep an Amazon SES account's sender reputation healthy. "
        "The database comes from DATABASE_URL (any SQLAlchemy URL).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="create or migrate the guard's tables")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser(
        "upgrade", help="create or migrate user_email_log and unvalidated_email_log (safe to re-run)"
    )
    upgrade.set_defaults(run=_db_upgrade)
    demo = db_commands.add_parser(
        "init-demo", help="create a seed-shaped users table with user1..3@example.com (demos and tests only)"
    )
    demo.set_defaults(run=_db_init_demo)

    replay = commands.add_parser(
        "replay",
        help="run SES notifications from files through the event processor",
        description="Each FILE holds a Lambda event (SNS or SQS), one SES notification, a JSON list of "
        "notifications, or JSON lines of notifications. They go through the same code as the Lambda "
        "function; the summary counts the rows this run added.",
    )
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE")
    replay.set_defaults(run=_replay)
    return parser


def _engine(settings: Settings) -> Engine:
    if not settings.database_url:
        raise ConfigurationError("set DATABASE_URL to the database to use")
    engine = database.build_engine(database.resolve_url(settings), settings.db_pool_recycle_seconds)
    database.set_engine(engine)
    return engine


def _db_upgrade(_args, settings: Settings) -> int:
    engine = _engine(settings)
    migrate.upgrade(engine)
    print(f"schema at revision {migrate.current_revision(engine)}")
    return 0


def _db_init_demo(_args, settings: Settings) -> int:
    added = migrate.init_demo_users(_engine(settings), settings.users)
    print(f"{settings.users.name}: {added} demo user(s) added")
    return 0


def read_records(path: Path) -> List[InboundRecord]:
    """Records from a file of any supported shape, each named after its place in the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        # JSON lines: a bad line becomes a failed record, like a bad message in a queue.
        return [
            InboundRecord(record_id=f"{path}:{number}", payload=line)
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]
    if isinstance(document, dict) and "Records" in document:
        return parsing.inbound_records(document)
    notifications = document if isinstance(document, list) else [document]
    return [
        InboundRecord(record_id=f"{path}#{index}", payload=notification)
        for index, notification in enumerate(notifications, start=1)
    ]


def _rows_by_status(engine: Engine) -> Counter:
    counts: Counter = Counter()
    with engine.connect() as connection:
        for table in (schema.user_email_log, schema.unvalidated_email_log):
            query = select(table.c.status, func.count()).group_by(table.c.status)
            for status, count in connection.execute(query):
                counts[(table.name, status)] = count
    return counts


def _replay(args, settings: Settings) -> int:
    records = [record for path in args.files for record in read_records(path)]
    engine = _engine(settings)
    before = _rows_by_status(engine)
    outcome = processor.process(records, processor.get_store())
    added = _rows_by_status(engine) - before
    _print_summary(outcome, added)
    return 1 if outcome.failed_record_ids else 0


def _print_summary(outcome: processor.BatchOutcome, added: Dict[Tuple[str, str], int]) -> None:
    print(f"records read: {outcome.records}, recipient events: {len(outcome.events)}")
    print("rows added:")
    if not added:
        print("  (none)")
    for (table, status), count in sorted(added.items()):
        print(f"  {table:<24} {status:<18} {count:>6}")
    print(f"unregistered recipients (EmailNotRegisteredCount): {outcome.stored.new_unregistered_pairs}")
    print(f"skipped records: {sum(outcome.skipped.values())}")
    for reason, count in sorted(outcome.skipped.items()):
        print(f"  {count} x {reason}")
    print(f"failed records: {len(outcome.failed_record_ids)}")
    for record_id in outcome.failed_record_ids:
        print(f"  {record_id}")


if __name__ == "__main__":
    sys.exit(main())
