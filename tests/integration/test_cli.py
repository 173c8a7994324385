"""`ses-guard` as an operator runs it: schema management, replay, hygiene, report and every failure an operator
meets, on SQLite and MariaDB."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from ses_guard import audit, cli, database, migrate, schema
from ses_guard.cli_errors import ExitCode
from tests import ses_samples as ses
from tests.conftest import MYSQL_URL, both_databases

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events"


def run(monkeypatch, capsys, database_url, *argv):
    if database_url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", database_url)
    try:
        status = cli.main(list(argv))
    except SystemExit as exited:  # argparse: --help, --version, usage errors
        status = exited.code
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(status, out, err, code: ExitCode, *fragments: str) -> str:
    """What an operator must see when a command fails: one line on stderr, no traceback, the documented code."""
    assert status == code, (status, out, err)
    assert "Traceback" not in err + out
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("ses-guard")
    for fragment in fragments:
        assert fragment in err, err
    return err


def execute(database_url: str, *statements: str) -> None:
    engine = database.build_engine(database_url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


def mysql_url(**changes) -> str:
    return make_url(MYSQL_URL).set(**changes).render_as_string(hide_password=False)


# -- schema ------------------------------------------------------------------------------------------------------


@both_databases
def test_db_upgrade_creates_the_tables_says_so_and_rerunning_changes_nothing(monkeypatch, capsys, database_url):
    status, out, _ = run(monkeypatch, capsys, database_url, "db", "upgrade")
    assert status == 0
    head = migrate.head_revision()
    assert out.startswith(f"schema upgraded from revision (none) to {head}: user_email_log, unvalidated_email_log")
    engine = database.build_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"user_email_log", "unvalidated_email_log", schema.VERSION_TABLE} <= tables
    indexes = {index["name"] for index in inspect(engine).get_indexes("user_email_log")}
    assert "ix_user_email_log_user_status_time" in indexes

    again = run(monkeypatch, capsys, database_url, "db", "upgrade")
    assert again == (0, f"schema at revision {head}: up to date, nothing changed\n", "")
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


@both_databases
def test_migrations_build_exactly_the_tables_the_code_writes(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": schema.VERSION_TABLE})
        differences = [d for d in compare_metadata(context, schema.metadata) if d[0] != "remove_table"]
    assert differences == []


def test_db_help_lists_all_four_tables(capsys):
    with pytest.raises(SystemExit):
        cli.main(["db", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for table in ("user_email_log", "unvalidated_email_log", "unregistered_recipient", "automation_audit_log"):
        assert table in out


def test_help_documents_the_users_table_settings_and_exit_codes(capsys):
    for argv in (["--help"], ["replay", "--help"], ["suppress-bouncing-users", "--help"], ["report", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        out = capsys.readouterr().out
        for variable in ("USERS_TABLE", "USERS_ID_COLUMN", "USERS_EMAIL_COLUMN", "USERS_VALIDATED_COLUMN"):
            assert variable in out, (argv, variable)
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for code in ExitCode:
        assert f"  {int(code):<3} " in out


def test_version(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("ses-guard 0.")


# -- init-demo ---------------------------------------------------------------------------------------------------


@both_databases
def test_init_demo_creates_the_demo_users_once(monkeypatch, capsys, database_url):
    first = run(monkeypatch, capsys, database_url, "db", "init-demo")[1]
    assert first.startswith("users: 3 demo user(s) added (user1@example.com, user2@example.com, user3@example.com")
    assert run(monkeypatch, capsys, database_url, "db", "init-demo")[1] == "users: 0 demo user(s) added\n"
    engine = database.build_engine(database_url)
    with engine.connect() as connection:
        users = connection.execute(text("SELECT user_id, email_address, validated FROM users ORDER BY 1")).all()
    engine.dispose()
    assert [tuple(u) for u in users] == [
        (1, "user1@example.com", 1),
        (2, "user2@example.com", 1),
        (3, "user3@example.com", 1),
    ]


@both_databases
def test_init_demo_refuses_a_users_table_holding_a_customer(monkeypatch, capsys, database_url):
    execute(
        database_url,
        "CREATE TABLE users (user_id INTEGER PRIMARY KEY, email_address VARCHAR(320) NOT NULL, validated INTEGER)",
        "INSERT INTO users VALUES (7, 'customer@shop.test', 1)",
    )

    status, out, err = run(monkeypatch, capsys, database_url, "db", "init-demo")

    assert_one_line_error(status, out, err, ExitCode.REFUSED, "'users' holds 1 row(s) that are not demo users")
    engine = database.build_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT user_id, email_address FROM users")).all()
    engine.dispose()
    assert [tuple(row) for row in rows] == [(7, "customer@shop.test")]


# -- replay ------------------------------------------------------------------------------------------------------


@both_databases
def test_replay_of_scenario_3_reports_ten_unregistered_recipients(monkeypatch, capsys, engine, database_url):
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario3.jsonl"))

    assert status == 0
    assert "unvalidated_email_log    Delivery               10" in out
    assert "unregistered recipients (EmailNotRegisteredCount): 10" in out
    assert "failed records: 0" in out
    assert err == ""  # quiet by default: no log lines

    _, again, _ = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario3.jsonl"))
    assert "rows added:\n  (none)" in again
    assert "unregistered recipients (EmailNotRegisteredCount): 0" in again


def test_replay_json_and_verbose_logs_on_stderr(monkeypatch, capsys, engine, database_url):
    status, out, err = run(
        monkeypatch, capsys, database_url, "replay", "--json", "-v", str(EXAMPLES / "scenario3.jsonl")
    )
    assert status == 0
    summary = json.loads(out)
    assert summary["unregistered_recipients"] == 10
    assert summary["rows_added"] == [{"table": "unvalidated_email_log", "status": "Delivery", "rows": 10}]
    assert any(json.loads(line).get("message") == "batch stored" for line in err.splitlines())


def test_replay_reads_every_file_shape_and_names_the_bad_lines(monkeypatch, capsys, engine, database_url, tmp_path):
    lambda_event = tmp_path / "sqs.json"
    lambda_event.write_text(json.dumps(ses.sqs_event([ses.sns_envelope(m) for m in ses.scenario_1()])))
    single = tmp_path / "one.json"
    single.write_text(json.dumps(ses.notification("Complaint", ["user2@example.com"])))
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([ses.notification("Send", ["a@b.test"], event_publishing=True)]))
    lines = tmp_path / "events.jsonl"
    handshake = {"notificationType": "AmazonSnsSubscriptionSucceeded"}
    lines.write_text(
        json.dumps(ses.notification("Open", ["user1@example.com"], event_publishing=True))
        + "\n"
        + "{truncated\n\n"
        + json.dumps(handshake)
        + "\n"
    )

    status, out, _ = run(monkeypatch, capsys, database_url, "replay", *map(str, (lambda_event, single, listed, lines)))

    assert status == ExitCode.FAILED  # a record failed
    assert "user_email_log           Bounce                  1" in out
    assert "user_email_log           Delivery                2" in out
    assert "user_email_log           Complaint               1" in out
    assert "user_email_log           Open                    1" in out
    assert "unvalidated_email_log    Send                    1" in out
    assert "skipped records: 1" in out
    assert f"failed records: 1\n  {lines}:2\n" in out


def test_replay_of_a_missing_file_is_a_clear_error(monkeypatch, capsys, engine, database_url, tmp_path):
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(tmp_path / "nope.jsonl"))
    assert_one_line_error(status, out, err, ExitCode.USAGE, "cannot read ", "No such file or directory")


def test_the_committed_example_events_are_the_seed_scenarios():
    for name, content in ses.example_files().items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == content, "regenerate: python -m tests.ses_samples"


@both_databases
def test_readme_sequence_replay_then_suppress_bouncing_users_shows_the_bouncing_user(monkeypatch, capsys, database_url):
    run(monkeypatch, capsys, database_url, "db", "upgrade")
    run(monkeypatch, capsys, database_url, "db", "init-demo")
    files = [str(EXAMPLES / name) for name in ("scenario1.jsonl", "scenario2.jsonl", "scenario3.jsonl")]
    assert run(monkeypatch, capsys, database_url, "replay", *files)[0] == 0
    # The committed events are from November 2026; the window reaches back to them.
    days = str((audit.utcnow() - datetime(2026, 11, 1)).days + 1)

    status, out, err = run(monkeypatch, capsys, database_url, "suppress-bouncing-users", "--dry-run", "--days", days)

    assert (status, err) == (0, "")
    assert out.splitlines()[0] == "would set validated = 0 for 1 user(s) (dry run: nothing changed)"
    assert "user3@example.com" in out and "6 bounces (Permanent/Transient)" in out

    status, out, _ = run(monkeypatch, capsys, database_url, "suppress-bouncing-users", "--days", days)
    assert out.splitlines()[:2] == [
        "set validated = 0 for 1 user(s) in users",
        f"         3  user3@example.com                        6 bounces (Permanent/Transient) in the last {days} days",
    ]
    assert "automation_audit_log" in out


# -- every failure: one line, a documented exit code, no traceback ---------------------------------------------


@pytest.mark.mysql
def test_wrong_password_is_one_line_without_the_password(monkeypatch, capsys):
    status, out, err = run(monkeypatch, capsys, mysql_url(password="s3cr3t-pw"), "db", "upgrade")
    assert_one_line_error(status, out, err, ExitCode.DATABASE, "access denied", "password in DATABASE_URL")
    assert "s3cr3t-pw" not in err


@pytest.mark.mysql
def test_unknown_database_names_it_and_how_to_create_it(monkeypatch, capsys):
    status, out, err = run(monkeypatch, capsys, mysql_url(database="no_such_db_x"), "db", "upgrade")
    assert_one_line_error(
        status, out, err, ExitCode.DATABASE, "database 'no_such_db_x' does not exist", "CREATE DATABASE"
    )


def test_wrong_port_names_host_and_port(monkeypatch, capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"mysql+pymysql://root:pw@127.0.0.1:{port}/guard"
    status, out, err = run(monkeypatch, capsys, url, "db", "upgrade")
    assert_one_line_error(status, out, err, ExitCode.DATABASE, f"127.0.0.1:{port}", "host and port in DATABASE_URL")


def test_mysql_url_without_driver_says_to_use_pymysql(monkeypatch, capsys):
    status, out, err = run(monkeypatch, capsys, "mysql://root:pw@127.0.0.1/guard", "db", "upgrade")
    assert_one_line_error(status, out, err, ExitCode.DATABASE, "MySQLdb", "mysql+pymysql://")
    assert ":pw@" not in err


def test_driver_typo_is_named(monkeypatch, capsys):
    status, out, err = run(monkeypatch, capsys, "mysql+pymsql://root:pw@127.0.0.1/guard", "db", "upgrade")
    assert_one_line_error(status, out, err, ExitCode.DATABASE, "'mysql+pymsql'", "mysql+pymysql://")


def test_no_database_url(monkeypatch, capsys):
    monkeypatch.delenv("DB_SECRET_ARN", raising=False)
    status, out, err = run(monkeypatch, capsys, None, "db", "upgrade")
    assert_one_line_error(status, out, err, ExitCode.USAGE, "DATABASE_URL")


@both_databases
def test_replay_before_db_upgrade_says_run_db_upgrade(monkeypatch, capsys, database_url):
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario3.jsonl"))
    assert_one_line_error(status, out, err, ExitCode.SCHEMA, "run `ses-guard db upgrade`")


@both_databases
def test_users_table_with_other_column_names_points_at_users_email_column(monkeypatch, capsys, database_url):
    run(monkeypatch, capsys, database_url, "db", "upgrade")
    execute(
        database_url,
        "CREATE TABLE users (user_id INTEGER PRIMARY KEY, email VARCHAR(320) NOT NULL, validated INTEGER)",
    )
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario1.jsonl"))
    assert_one_line_error(status, out, err, ExitCode.SCHEMA, "USERS_EMAIL_COLUMN", "email, user_id, validated")
    assert "USERS_ID_COLUMN" not in err

    monkeypatch.setenv("USERS_EMAIL_COLUMN", "email")
    assert run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario1.jsonl"))[0] == 0


@both_databases
def test_replaying_20000_events_without_users_table_is_one_short_line(monkeypatch, capsys, database_url, tmp_path):
    run(monkeypatch, capsys, database_url, "db", "upgrade")
    base = datetime(2026, 11, 1)
    events = tmp_path / "many.jsonl"
    events.write_text(
        "".join(
            json.dumps(ses.notification("Delivery", [f"r{n}@x.test"], sent=base + timedelta(seconds=n))) + "\n"
            for n in range(20_000)
        )
    )
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(events))
    assert_one_line_error(status, out, err, ExitCode.SCHEMA, "no users table 'users'", "USERS_TABLE")
    assert len(err) < 300
    assert "SELECT" not in err and "r1@x.test" not in err


def test_a_missing_table_met_mid_command_is_explained_without_sql(monkeypatch, capsys, engine, database_url):
    """The checks before a command cannot see a table dropped meanwhile: the database's own error is explained."""
    monkeypatch.setattr(cli.migrate, "require_guard_tables", lambda _engine: None)
    execute(database_url, "DROP TABLE user_email_log")
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario1.jsonl"))
    assert_one_line_error(status, out, err, ExitCode.SCHEMA, "user_email_log", "run `ses-guard db upgrade`")
    assert "INSERT" not in err and "SELECT" not in err


@pytest.fixture
def no_aws_environment(monkeypatch, tmp_path):
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SEND_COUNT_ALARMS", '{"app-ses-send-count-warning": 60}')


def test_sync_thresholds_without_region(monkeypatch, capsys, engine, database_url, no_aws_environment):
    status, out, err = run(monkeypatch, capsys, database_url, "sync-thresholds")
    assert_one_line_error(status, out, err, ExitCode.AWS, "no AWS region", "AWS_DEFAULT_REGION")


def test_sync_thresholds_without_credentials(monkeypatch, capsys, engine, database_url, no_aws_environment):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    status, out, err = run(monkeypatch, capsys, database_url, "sync-thresholds")
    assert_one_line_error(status, out, err, ExitCode.AWS, "no AWS credentials", "AWS_PROFILE")


def test_sync_thresholds_without_send_count_alarms(monkeypatch, capsys, engine, database_url):
    monkeypatch.delenv("SEND_COUNT_ALARMS", raising=False)
    status, out, err = run(monkeypatch, capsys, database_url, "sync-thresholds")
    assert_one_line_error(status, out, err, ExitCode.USAGE, "SEND_COUNT_ALARMS is not set")


def test_suppress_bouncing_users_refuses_an_unknown_bounce_type(monkeypatch, capsys, engine, database_url):
    status, out, err = run(monkeypatch, capsys, database_url, "suppress-bouncing-users", "--bounce-types", "Permanant")
    assert_one_line_error(status, out, err, ExitCode.USAGE, "'Permanant' is not an SES bounce type", "Permanent")


HYGIENE_IS_DEPRECATED = "ses-guard: 'hygiene' is deprecated; use 'suppress-bouncing-users'\n"


def test_suppress_bouncing_users_is_the_deprecated_name_of_suppress_bouncing_users(
    monkeypatch, capsys, engine, database_url
):
    replay = [str(EXAMPLES / "scenario2.jsonl")]
    assert run(monkeypatch, capsys, database_url, "replay", *replay)[0] == 0
    days = str((audit.utcnow() - datetime(2026, 11, 1)).days + 1)
    arguments = ["--json", "--dry-run", "--days", days]

    current = run(monkeypatch, capsys, database_url, "suppress-bouncing-users", *arguments)
    deprecated = run(monkeypatch, capsys, database_url, "hygiene", *arguments)

    # The same result on stdout (JSON only), and one line on stderr under the old name.
    assert current[:2] == deprecated[:2]
    assert current[0] == 0
    assert [user["email_address"] for user in json.loads(current[1])["users"]] == ["user3@example.com"]
    assert (current[2], deprecated[2]) == ("", HYGIENE_IS_DEPRECATED)


def test_suppress_bouncing_users_still_changes_users_and_says_it_is_deprecated(
    monkeypatch, capsys, engine, database_url
):
    assert run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario2.jsonl"))[0] == 0
    days = str((audit.utcnow() - datetime(2026, 11, 1)).days + 1)
    status, out, err = run(monkeypatch, capsys, database_url, "hygiene", "--days", days)
    assert (status, err) == (0, HYGIENE_IS_DEPRECATED)
    assert out.splitlines()[0] == "set validated = 0 for 1 user(s) in users"


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(monkeypatch, capsys, engine, database_url):
    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli.processor, "process", broken)
    status, out, err = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario1.jsonl"))
    assert_one_line_error(status, out, err, ExitCode.INTERNAL, "RuntimeError", "--debug")

    status, _, err = run(monkeypatch, capsys, database_url, "replay", "--debug", str(EXAMPLES / "scenario1.jsonl"))
    assert status == ExitCode.INTERNAL
    assert "Traceback" in err and "RuntimeError: boom" in err


def test_json_errors_are_one_json_line(monkeypatch, capsys, database_url):
    status, _, err = run(monkeypatch, capsys, database_url, "replay", "--json", str(EXAMPLES / "scenario1.jsonl"))
    assert status == ExitCode.SCHEMA
    assert err.count("\n") == 1
    assert json.loads(err)["exit_code"] == ExitCode.SCHEMA


# -- report ------------------------------------------------------------------------------------------------------


@both_databases
def test_report_answers_the_on_calls_first_questions(monkeypatch, capsys, engine, database_url, tmp_path):
    now = audit.utcnow().replace(microsecond=0)
    attack = [
        ses.notification(
            "Delivery", [f"victim{n}@elsewhere.test"], sent=now - timedelta(minutes=30 - n), source_ip=ses.ATTACKER_IP
        )
        for n in range(4)
    ]
    old_attack = [
        ses.notification("Delivery", ["old@elsewhere.test"], sent=now - timedelta(hours=30), source_ip="192.0.2.99")
    ]
    bounces = [
        ses.notification(
            "Bounce",
            ["user3@example.com"],
            sent=now - timedelta(hours=h),
            bounce_type="Transient",
            bounce_sub_type="MailboxFull",
            diagnostic=ses.MAILBOX_FULL,
        )
        for h in (1, 2, 3)
    ]
    complaint = [ses.notification("Complaint", ["user2@example.com"], sent=now - timedelta(hours=4))]
    path = tmp_path / "incident.json"
    path.write_text(json.dumps(attack + old_attack + bounces + complaint))
    assert run(monkeypatch, capsys, database_url, "replay", str(path))[0] == 0

    status, out, _ = run(monkeypatch, capsys, database_url, "report", "--json")

    assert status == 0
    report = json.loads(out)
    assert report["hours"] == 24
    statuses = {(row["table"], row["status"]): row["events"] for row in report["statuses"]}
    assert statuses == {
        ("unvalidated_email_log", "Delivery"): 4,
        ("user_email_log", "Bounce"): 3,
        ("user_email_log", "Complaint"): 1,
    }
    [source] = report["unregistered_sources"]
    assert report["stranger_sources"] == report["unregistered_sources"], "the deprecated key stays for old scripts"
    assert (source["source_ip"], source["caller_identity"], source["events"], source["recipients"]) == (
        ses.ATTACKER_IP,
        "app-sender",
        4,
        4,
    )
    assert source["source_arn"] == ses.SOURCE_ARN
    # SES reports each event two seconds after the send, in these samples.
    assert source["first_seen"] == (now - timedelta(minutes=30, seconds=-2)).isoformat()
    assert source["last_seen"] == (now - timedelta(minutes=27, seconds=-2)).isoformat()
    assert [(u["user_id"], u["email_address"], u["bounces"], u["complaints"]) for u in report["troubled_users"]] == [
        (3, "user3@example.com", 3, 0),
        (2, "user2@example.com", 0, 1),
    ]

    status, out, _ = run(monkeypatch, capsys, database_url, "report", "--hours", "48")
    assert "source IP      caller identity" in out
    assert "192.0.2.99" in out and ses.ATTACKER_IP in out
    assert "user id  email address      bounces  complaints" in out
