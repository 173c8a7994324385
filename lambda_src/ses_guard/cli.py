"""`ses-guard`: the operator's command line (schema, replay, automation)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ses_guard import aws, database, hygiene, migrate, parsing, processor, schema, thresholds
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

    sync = commands.add_parser(
        "sync-thresholds",
        help="set the send-count alarms' thresholds from the current SES quota",
        description="Reads the account's SES 24-hour quota and sets each send-count alarm's threshold to its "
        "share of it, keeping every other alarm setting. The alarms and their percentages come from "
        'SEND_COUNT_ALARMS (JSON, e.g. {"myapp-ses-send-count-warning": 60, "myapp-ses-send-count-critical": 80}); '
        "changes are announced on WARNING_TOPIC_ARN when set and recorded in automation_audit_log. "
        "Uses the usual AWS credentials and region.",
    )
    sync.set_defaults(run=_sync_thresholds)

    clean = commands.add_parser(
        "hygiene",
        help="set validated = 0 for users whose mail keeps bouncing or who complained",
        description="Finds validated users with at least --threshold bounces of the given types in the last "
        "--days days (and, unless --no-complaints, any complaint), sets their validated column to 0 and records "
        "each change in automation_audit_log. Defaults come from HYGIENE_* variables (5 bounces, 30 days, "
        "Permanent and Transient bounces, complaints count).",
    )
    clean.add_argument("--dry-run", action="store_true", help="list who would change; change nothing")
    clean.add_argument("--threshold", type=_at_least_one, metavar="N", help="bounces that invalidate a user")
    clean.add_argument("--days", type=_at_least_one, metavar="D", help="look-back window in days")
    clean.add_argument(
        "--bounce-types",
        metavar="TYPES",
        help="comma-separated SES bounce types that count (Permanent,Transient,Undetermined)",
    )
    clean.add_argument("--no-complaints", action="store_true", help="do not invalidate users for complaints")
    clean.set_defaults(run=_hygiene)
    return parser


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


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


def _sync_thresholds(_args, settings: Settings) -> int:
    report = thresholds.sync(
        settings, aws.client("ses"), aws.client("cloudwatch"), aws.client("sns"), _engine(settings)
    )
    if report.quota_is_unlimited:
        print("SES quota: unlimited (Max24HourSend -1): the send-count thresholds were left as they are")
        return 0
    print(f"SES quota: {report.max_24_hour_send:,.0f} per 24 h, {report.quota_used_percent:.1f}% used")
    if not report.changes:
        print("thresholds already match the quota: nothing changed")
    for change in report.changes:
        print(f"  {change.alarm_name}: {change.before:,.2f} -> {change.after:,.2f} ({change.percent:g}%)")
    return 0


def _hygiene(args, settings: Settings) -> int:
    overrides = {}
    if args.threshold:
        overrides["hygiene_bounce_threshold"] = args.threshold
    if args.days:
        overrides["hygiene_window_days"] = args.days
    if args.bounce_types:
        overrides["hygiene_bounce_types"] = tuple(t.strip() for t in args.bounce_types.split(",") if t.strip())
    if args.no_complaints:
        overrides["hygiene_invalidate_on_complaint"] = False
    settings = dataclasses.replace(settings, **overrides)
    changed = hygiene.run(_engine(settings), settings, dry_run=args.dry_run)
    verb = "would set validated = 0 for" if args.dry_run else "set validated = 0 for"
    print(f"{verb} {len(changed)} user(s)")
    for user in changed:
        print(f"  {user.user_id:>8}  {user.email_address:<40} {user.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
