"""`ses-guard`: the operator's command line (schema, replay, automation, incident report, deployment check).

Each subcommand is one `_add_*` function (its parser) and one `_run_*` function returning an Outcome: the data
(printed as is with --json) and its text for a person. Failures become one line and an ExitCode
(cli_errors); a traceback only with --debug.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import URL, Engine

from ses_guard import (
    aws,
    database,
    doctor,
    lambda_events,
    migrate,
    observability,
    processor,
    provenance,
    report,
    schema,
    settings,
    suppress_bouncing_users,
    suppression,
    sync_thresholds,
)
from ses_guard.cli_errors import EXIT_CODE_MEANINGS, CliError, ExitCode, driver_missing, explain
from ses_guard.observability import log_to_stderr, logger
from ses_guard.parsing import InboundRecord
from ses_guard.settings import SES_BOUNCE_TYPES, ConfigurationError, UsersTable, bounce_types
from ses_guard.store import EventStore

ENVIRONMENT_HELP = """\
environment:
  DATABASE_URL            the database (SQLAlchemy URL), e.g. mysql+pymysql://USER:PASSWORD@HOST:3306/DB
                          or sqlite:///guard.db; DB_SECRET_ARN instead reads an RDS-format secret
  USERS_TABLE             the application's users table (default users)
  USERS_ID_COLUMN         its id column (default user_id)
  USERS_EMAIL_COLUMN      its email column (default email_address)
  USERS_VALIDATED_COLUMN  its 0/1 "may be mailed" column (default validated)
  AWS_DEFAULT_REGION, AWS_PROFILE  the usual AWS settings (sync-thresholds, doctor)
"""

# Each command carries the name of the function it runs by hand; the names it had before still work, with a line on
# stderr: deprecated name -> command.
DEPRECATED_COMMANDS = {"hygiene": "suppress-bouncing-users"}


def _exit_codes_help() -> str:
    return "exit codes:\n" + "".join(f"  {int(code):<3} {meaning}\n" for code, meaning in EXIT_CODE_MEANINGS.items())


@dataclass
class Outcome:
    """What a command says: data for --json, text for a person, and its exit code."""

    data: Dict[str, Any]
    text: str
    code: ExitCode = ExitCode.OK


@dataclass
class Context:
    """What every command gets: its arguments, the environment it was started with (read here, once: each
    command reads the settings it needs from it), the AWS clients and the database engine on demand."""

    args: argparse.Namespace
    env: Mapping[str, str]
    clients: aws.Clients = dataclasses.field(default_factory=aws.Clients)
    url: Optional[URL] = None
    _engine: Optional[Engine] = None

    @functools.cached_property
    def users(self) -> UsersTable:
        return settings.users_table(self.env)

    def engine(self) -> Engine:
        if self._engine is None:
            database_settings = settings.database_settings(self.env)
            if self.args.db_timeout is not None:
                database_settings = dataclasses.replace(database_settings, timeout_seconds=self.args.db_timeout)
            self.url = database.resolve_url(database_settings, self.clients)
            try:
                self._engine = database.build_engine(
                    self.url, database_settings.pool_recycle_seconds, database_settings.timeout_seconds
                )
            except ModuleNotFoundError as error:
                raise driver_missing(self.url, error.name or "?") from None
        return self._engine

    def users_or_default(self) -> UsersTable:
        """The users table as configured, or the default one when its variables are themselves the problem."""
        try:
            return self.users
        except ConfigurationError:
            return UsersTable()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command in DEPRECATED_COMMANDS:
        print(f"ses-guard: '{args.command}' is deprecated; use '{DEPRECATED_COMMANDS[args.command]}'", file=sys.stderr)
    log_to_stderr()
    # Quiet by default: a person reads the command's own output; -v shows the structured log on stderr.
    logger.setLevel({0: "ERROR", 1: "INFO"}.get(args.verbose, "DEBUG"))
    context = Context(args, dict(os.environ))
    observability.configure(settings.metrics_settings(context.env))
    try:
        outcome = args.run(context)
    except KeyboardInterrupt:
        print("ses-guard: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        explained = explain(error, context.users_or_default(), context.url)
        if args.debug:
            traceback.print_exc()
        if explained is None:
            explained = CliError(
                ExitCode.INTERNAL,
                f"unexpected {type(error).__name__}: rerun with --debug for the traceback, and report it",
            )
        _print_error(args, explained)
        return int(explained.code)
    finally:
        if context._engine is not None:
            context._engine.dispose()
    if args.json:
        print(json.dumps(outcome.data, default=_json_value, sort_keys=True))
    elif outcome.text:
        print(outcome.text)
    return int(outcome.code)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _print_error(args: argparse.Namespace, error: CliError) -> None:
    if args.json:
        line = json.dumps({"error": str(error), "exit_code": int(error.code), "kind": error.code.name.lower()})
        print(line, file=sys.stderr)
    else:
        print(f"ses-guard: {error}", file=sys.stderr)


def _version() -> str:
    try:
        return package_metadata.version("ses-guard")
    except package_metadata.PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's error convention: one line naming the problem and where to read more."""

    def error(self, message: str):
        self.exit(int(ExitCode.USAGE), f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _common_options() -> argparse.ArgumentParser:
    """Options every subcommand takes, also after its name (`ses-guard report --json`)."""
    common = _Parser(add_help=False)
    # SUPPRESS: a subcommand's default must not overwrite the value given before the subcommand's name.
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print the result as JSON")
    common.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="log to stderr (-v info, -vv debug)"
    )
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="print the traceback of a failure"
    )
    return common


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ses-guard",
        description="Keep an Amazon SES account's sender reputation healthy: manage the guard's tables, replay "
        "SES notifications, run the automation by hand, report on an incident, check a deployment.",
        epilog=ENVIRONMENT_HELP + "\n" + _exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"ses-guard {_version()}")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log to stderr (-v info, -vv debug)")
    parser.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    parser.add_argument(
        "--db-timeout",
        type=_at_least_one,
        metavar="SECONDS",
        help="the longest any one database wait may take: connecting, each statement, each lock "
        "(default: DB_TIMEOUT_SECONDS, else 10)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options()
    for add in (
        _add_db,
        _add_replay,
        _add_sync_thresholds,
        _add_suppress_bouncing_users,
        _add_report,
        _add_suppression,
        _add_doctor,
    ):
        add(commands, common)
    return parser


def _subcommand(commands, common, name: str, run: Callable[[Context], Outcome], **kwargs) -> argparse.ArgumentParser:
    kwargs.setdefault("description", kwargs.get("help"))
    command = commands.add_parser(
        name, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs
    )
    command.set_defaults(run=run)
    return command


# -- db ----------------------------------------------------------------------------------------------------------


def _add_db(commands, common) -> None:
    tables = ", ".join(schema.metadata.tables)
    db = commands.add_parser(
        "db",
        help="create or migrate the guard's tables",
        description=f"The guard's own tables: {tables} (Alembic revisions in {schema.VERSION_TABLE}).",
    )
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    _subcommand(
        actions,
        common,
        "upgrade",
        _run_db_upgrade,
        help=f"create or migrate {tables} (safe to re-run; never touches the users table)",
    )
    _subcommand(
        actions,
        common,
        "init-demo",
        _run_db_init_demo,
        help="create a demo users table holding user1..3@example.com (demos and tests only)",
        description="Creates USERS_TABLE (default users) with USERS_ID_COLUMN, USERS_EMAIL_COLUMN and "
        "USERS_VALIDATED_COLUMN if it does not exist, and adds the validated demo users user1..3@example.com. "
        f"Refuses (exit {int(ExitCode.REFUSED)}) a table holding any other row: that is an application's table.",
        epilog=ENVIRONMENT_HELP,
    )


def _run_db_upgrade(context: Context) -> Outcome:
    engine = context.engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    after = migrate.current_revision(engine)
    if before == after:
        text = f"schema at revision {after}: up to date, nothing changed"
    else:
        text = f"schema upgraded from revision {before or '(none)'} to {after}: {', '.join(schema.metadata.tables)}"
    return Outcome({"revision": after, "previous_revision": before, "changed": before != after}, text)


def _run_db_init_demo(context: Context) -> Outcome:
    users = context.users
    added = migrate.init_demo_users(context.engine(), users)
    text = f"{users.name}: {added} demo user(s) added" + (
        f" ({', '.join(migrate.DEMO_USERS)}, validated = 1)" if added else ""
    )
    return Outcome({"table": users.name, "added": added}, text)


# -- replay ------------------------------------------------------------------------------------------------------


def _add_replay(commands, common) -> None:
    replay = _subcommand(
        commands,
        common,
        "replay",
        _run_replay,
        help="run SES notifications from files through the event processor (writes the log tables)",
        description="Each FILE holds a Lambda event (SNS or SQS), one SES notification, a JSON list of "
        "notifications, or JSON lines of notifications. They go through the same code as the Lambda "
        "function and are stored in user_email_log / unvalidated_email_log; the summary counts the rows this "
        f"run added. Exit {int(ExitCode.FAILED)} when a record was rejected.",
        epilog=ENVIRONMENT_HELP,
    )
    replay.add_argument("files", nargs="+", type=Path, metavar="FILE")


def read_records(path: Path) -> List[InboundRecord]:
    """Records from a file of any supported shape, each named after its place in the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "not UTF-8 text"
        raise CliError(ExitCode.USAGE, f"cannot read {path}: {reason}: check the file name") from None
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
        return lambda_events.inbound_records(document)
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


def _run_replay(context: Context) -> Outcome:
    records = [record for path in context.args.files for record in read_records(path)]
    engine = context.engine()
    # Checked first: otherwise the first failing statement (with every address of the batch) is the message.
    migrate.require_guard_tables(engine)
    processor_settings = settings.processor_settings(context.env)
    migrate.require_users_table(engine, processor_settings.users)
    store = EventStore(engine, processor_settings.users)
    before = _rows_by_status(engine)
    outcome = processor.process(records, store, provenance.Source.of(processor_settings))
    added = _rows_by_status(engine) - before
    data = {
        "records": outcome.records,
        "recipient_events": len(outcome.events),
        "rows_added": [
            {"table": table, "status": status, "rows": count} for (table, status), count in sorted(added.items())
        ],
        "unregistered_recipients": outcome.stored.new_unregistered_pairs,
        "skipped": dict(outcome.skipped),
        "failed_record_ids": list(outcome.failed_record_ids),
    }
    code = ExitCode.FAILED if outcome.failed_record_ids else ExitCode.OK
    return Outcome(data, _replay_text(data), code)


def _replay_text(data: Dict[str, Any]) -> str:
    lines = [f"records read: {data['records']}, recipient events: {data['recipient_events']}", "rows added:"]
    if not data["rows_added"]:
        lines.append("  (none)")
    lines += [f"  {row['table']:<24} {row['status']:<18} {row['rows']:>6}" for row in data["rows_added"]]
    lines.append(f"unregistered recipients (EmailNotRegisteredCount): {data['unregistered_recipients']}")
    lines.append(f"skipped records: {sum(data['skipped'].values())}")
    lines += [f"  {count} x {reason}" for reason, count in sorted(data["skipped"].items())]
    lines.append(f"failed records: {len(data['failed_record_ids'])}")
    lines += [f"  {record_id}" for record_id in data["failed_record_ids"]]
    return "\n".join(lines)


# -- sync-thresholds ---------------------------------------------------------------------------------------------


def _add_sync_thresholds(commands, common) -> None:
    _subcommand(
        commands,
        common,
        "sync-thresholds",
        _run_sync_thresholds,
        help="set the send-count alarms' thresholds from the current SES quota",
        description="Reads the account's SES 24-hour quota and sets each send-count alarm's threshold to its "
        "share of it, keeping every other alarm setting. The alarms and their percentages come from "
        'SEND_COUNT_ALARMS (JSON, e.g. {"myapp-ses-send-count-warning": 60, "myapp-ses-send-count-critical": 80}; '
        "the module's send_count_alarms output); changes are announced on WARNING_TOPIC_ARN when set and "
        "recorded in automation_audit_log (DATABASE_URL). Uses the usual AWS credentials and region.",
    )


def _run_sync_thresholds(context: Context) -> Outcome:
    function_settings = settings.sync_thresholds_settings(context.env)
    if not function_settings.send_count_alarms:
        raise CliError(
            ExitCode.USAGE,
            "SEND_COUNT_ALARMS is not set: set it to the alarms to manage, e.g. "
            "SEND_COUNT_ALARMS='{\"myapp-ses-send-count-warning\": 60}' (terraform output send_count_alarms)",
        )
    engine = context.engine()
    migrate.require_guard_tables(engine)
    clients = context.clients
    report = sync_thresholds.sync(function_settings, clients("ses"), clients("cloudwatch"), clients("sns"), engine)
    data = report.as_dict()
    if report.quota_is_unlimited:
        return Outcome(data, "SES quota: unlimited (Max24HourSend -1): the send-count thresholds were left as they are")
    lines = [f"SES quota: {report.max_24_hour_send:,.0f} per 24 h, {report.quota_used_percent:.1f}% used"]
    if not report.changes:
        lines.append("thresholds already match the quota: nothing changed")
    lines += [
        f"  {change.alarm_name}: {change.before:,.2f} -> {change.after:,.2f} ({change.percent:g}%)"
        for change in report.changes
    ]
    return Outcome(data, "\n".join(lines))


# -- suppress-bouncing-users -------------------------------------------------------------------------------------


def _bounce_types_argument(text: str):
    try:
        return bounce_types(text)
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_suppress_bouncing_users(commands, common) -> None:
    deprecated = [name for name, command in DEPRECATED_COMMANDS.items() if command == "suppress-bouncing-users"]
    clean = _subcommand(
        commands,
        common,
        "suppress-bouncing-users",
        _run_suppress_bouncing_users,
        aliases=deprecated,
        help="set validated = 0 for users whose mail keeps bouncing or who complained (the "
        "suppress-bouncing-users function, by hand; 'hygiene' is its deprecated name)",
        description="Finds validated users with at least --threshold bounces of the given types in the last "
        "--days days (and, unless --no-complaints, any complaint), sets their validated column to 0 and records "
        "each change in automation_audit_log; prints every user it changed. Defaults come from HYGIENE_* variables "
        "(5 bounces, 30 days, Permanent and Transient bounces, complaints count). 'hygiene' is its deprecated name.",
        epilog=ENVIRONMENT_HELP,
    )
    clean.add_argument("--dry-run", action="store_true", help="list who would change; change nothing")
    clean.add_argument("--threshold", type=_at_least_one, metavar="N", help="bounces that invalidate a user")
    clean.add_argument("--days", type=_at_least_one, metavar="D", help="look-back window in days")
    clean.add_argument(
        "--bounce-types",
        type=_bounce_types_argument,
        metavar="TYPES",
        help=f"comma-separated SES bounce types that count ({','.join(SES_BOUNCE_TYPES)})",
    )
    clean.add_argument("--no-complaints", action="store_true", help="do not invalidate users for complaints")


def _run_suppress_bouncing_users(context: Context) -> Outcome:
    args = context.args
    overrides: Dict[str, Any] = {}
    if args.threshold:
        overrides["bounce_threshold"] = args.threshold
    if args.days:
        overrides["window_days"] = args.days
    if args.bounce_types:
        overrides["bounce_types"] = args.bounce_types
    if args.no_complaints:
        overrides["invalidate_on_complaint"] = False
    function_settings = dataclasses.replace(settings.suppress_bouncing_users_settings(context.env), **overrides)
    engine = context.engine()
    migrate.require_guard_tables(engine)
    migrate.require_users_table(engine, function_settings.users)
    # The SES client only when hygiene will use it: creating one needs an AWS region.
    sesv2 = context.clients("sesv2") if function_settings.sync_suppression_list else None
    changed = suppress_bouncing_users.run(engine, function_settings, dry_run=args.dry_run, sesv2=sesv2)
    data = {"dry_run": args.dry_run, "users": [dataclasses.asdict(user) for user in changed]}
    if args.dry_run:
        lines = [f"would set validated = 0 for {len(changed)} user(s) (dry run: nothing changed)"]
    else:
        lines = [f"set validated = 0 for {len(changed)} user(s) in {function_settings.users.name}"]
    lines += [f"  {user.user_id:>8}  {user.email_address:<40} {user.reason}" for user in changed]
    if changed and not args.dry_run:
        lines.append("each change is recorded in automation_audit_log")
    return Outcome(data, "\n".join(lines))


# -- report ------------------------------------------------------------------------------------------------------


def _add_report(commands, common) -> None:
    command = _subcommand(
        commands,
        common,
        "report",
        _run_report,
        help="what happened in the last hours: events by status, unregistered recipients by source, bouncing users",
        description="Reads the log tables (nothing is changed) for the last --hours hours: events by status; "
        "unregistered recipients (not users) grouped by source IP, caller identity and source ARN, with counts and "
        "first/last seen; the users with the most bounces and complaints.",
        epilog=ENVIRONMENT_HELP,
    )
    command.add_argument("--hours", type=_at_least_one, default=24, metavar="N", help="look-back window (default 24)")
    command.add_argument("--top", type=_at_least_one, default=10, metavar="N", help="rows per list (default 10)")


def _run_report(context: Context) -> Outcome:
    engine = context.engine()
    migrate.require_guard_tables(engine)
    migrate.require_users_table(engine, context.users)
    result = report.build(engine, context.users, hours=context.args.hours, top=context.args.top)
    return Outcome(result.as_dict(), report.render(result))


# -- suppression -------------------------------------------------------------------------------------------------


def _add_suppression(commands, common) -> None:
    group = commands.add_parser("suppression", help="compare and edit the SES account suppression list")
    actions = group.add_subparsers(dest="suppression_command", required=True, metavar="ACTION")
    _subcommand(
        actions,
        common,
        "diff",
        _run_suppression_diff,
        help="where SES's suppression list and the users' validated column disagree",
        description="Lists users with validated = 0 whose address SES does not suppress (with "
        "suppress-bouncing-users' reason and date), and suppressed addresses whose user is still validated (with "
        "SES's reason and date). Reads the whole list (ListSuppressedDestinations) and the users table; changes "
        "nothing.",
        epilog=ENVIRONMENT_HELP,
    )
    remove = _subcommand(
        actions,
        common,
        "remove",
        _run_suppression_remove,
        help="take an address off SES's suppression list (--revalidate: and mail its user again)",
        description="Deletes ADDRESS from the account suppression list and, with --revalidate, sets its user's "
        "validated column back to 1; each step is recorded in automation_audit_log.",
        epilog=ENVIRONMENT_HELP,
    )
    remove.add_argument("address", metavar="ADDRESS")
    remove.add_argument("--revalidate", action="store_true", help="also set the user's validated column back to 1")


def _run_suppression_diff(context: Context) -> Outcome:
    engine = context.engine()
    migrate.require_guard_tables(engine)
    migrate.require_users_table(engine, context.users)
    result = suppression.diff(engine, context.users, context.clients("sesv2"))
    return Outcome(result.as_dict(), suppression.render_diff(result))


def _run_suppression_remove(context: Context) -> Outcome:
    engine = context.engine()
    migrate.require_guard_tables(engine)
    migrate.require_users_table(engine, context.users)
    args = context.args
    actor = settings.actor(context.env)
    done = suppression.remove(engine, context.users, context.clients("sesv2"), args.address, args.revalidate, actor)
    lines = [f"{done.email_address}: " + ("removed from" if done.removed_from_ses else "was not on") + " SES's list"]
    if args.revalidate:
        lines.append(f"validated = 1 again for user(s): {', '.join(map(str, done.revalidated_user_ids)) or '(none)'}")
    code = ExitCode.OK if done.removed_from_ses or done.revalidated_user_ids else ExitCode.FAILED
    return Outcome(dataclasses.asdict(done), "\n".join(lines), code)


# -- doctor ------------------------------------------------------------------------------------------------------


def _add_doctor(commands, common) -> None:
    command = _subcommand(
        commands,
        common,
        "doctor",
        _run_doctor,
        help="check that a deployed instance is still wired as the guard needs (reads AWS)",
        description="Reads the deployment's terraform outputs (--outputs FILE from `terraform output -json`) "
        "and AWS, and checks: each identity's Bounce/Complaint/Delivery notifications go to the events topic "
        "with original headers; the configuration set's event destination is enabled with the expected event "
        "types; the SQS event source mapping is enabled with its batch size; every alarm exists with its metric, "
        "dimensions and actions; the send-count thresholds match the quota; account sending is enabled. "
        f"One line per check; exit {int(ExitCode.FAILED)} if any fails.",
    )
    command.add_argument(
        "--outputs", type=Path, required=True, metavar="FILE", help="`terraform output -json` of the deployment"
    )


def _run_doctor(context: Context) -> Outcome:
    try:
        outputs = doctor.read_outputs(context.args.outputs)
    except doctor.OutputsProblem as problem:
        raise CliError(ExitCode.USAGE, str(problem)) from None
    checks = doctor.run(outputs, context.clients)
    failed = [check for check in checks if not check.ok]
    data = {"ok": not failed, "checks": [dataclasses.asdict(check) for check in checks]}
    lines = [f"{'ok  ' if check.ok else 'FAIL'}  {check.name}: {check.detail}" for check in checks]
    lines.append(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return Outcome(data, "\n".join(lines), ExitCode.FAILED if failed else ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
