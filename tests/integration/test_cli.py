"""`ses-guard` as an operator runs it: schema management and replay, on SQLite and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from ses_guard import cli, database, schema
from tests import ses_samples as ses
from tests.conftest import both_databases

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "events"


def run(monkeypatch, capsys, database_url, *argv):
    monkeypatch.setenv("DATABASE_URL", database_url)
    cli.get_settings.cache_clear()
    try:
        status = cli.main(list(argv))
    finally:
        cli.get_settings.cache_clear()
        database.set_engine(None)
    out, err = capsys.readouterr()
    return status, out, err


@both_databases
def test_db_upgrade_creates_the_tables_and_rerunning_is_a_no_op(monkeypatch, capsys, database_url):
    assert run(monkeypatch, capsys, database_url, "db", "upgrade")[1] == "schema at revision 0002\n"
    engine = database.build_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    assert {"user_email_log", "unvalidated_email_log", schema.VERSION_TABLE} <= tables
    indexes = {index["name"] for index in inspect(engine).get_indexes("user_email_log")}
    assert "ix_user_email_log_user_status_time" in indexes

    assert run(monkeypatch, capsys, database_url, "db", "upgrade") == (0, "schema at revision 0002\n", "")
    assert set(inspect(engine).get_table_names()) == tables
    engine.dispose()


@both_databases
def test_migrations_build_exactly_the_tables_the_code_writes(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": schema.VERSION_TABLE})
        differences = [d for d in compare_metadata(context, schema.metadata) if d[0] != "remove_table"]
    assert differences == []


@both_databases
def test_init_demo_creates_the_seed_users_once(monkeypatch, capsys, database_url):
    assert run(monkeypatch, capsys, database_url, "db", "init-demo")[1] == "users: 3 demo user(s) added\n"
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
def test_replay_of_scenario_3_reports_ten_unregistered_recipients(monkeypatch, capsys, engine, database_url):
    status, out, _ = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario3.jsonl"))

    assert status == 0
    assert "unvalidated_email_log    Delivery               10" in out
    assert "unregistered recipients (EmailNotRegisteredCount): 10" in out
    assert "failed records: 0" in out

    _, again, _ = run(monkeypatch, capsys, database_url, "replay", str(EXAMPLES / "scenario3.jsonl"))
    assert "rows added:\n  (none)" in again
    assert "unregistered recipients (EmailNotRegisteredCount): 0" in again


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

    assert status == 1  # a record failed
    assert "user_email_log           Bounce                  1" in out
    assert "user_email_log           Delivery                2" in out
    assert "user_email_log           Complaint               1" in out
    assert "user_email_log           Open                    1" in out
    assert "unvalidated_email_log    Send                    1" in out
    assert "skipped records: 1" in out
    assert f"failed records: 1\n  {lines}:2\n" in out


def test_replay_of_a_missing_file_is_a_clear_error(monkeypatch, capsys, engine, database_url, tmp_path):
    status, _, err = run(monkeypatch, capsys, database_url, "replay", str(tmp_path / "nope.jsonl"))
    assert status == 2
    assert err.startswith("ses-guard: cannot read ")


def test_the_committed_example_events_are_the_seed_scenarios():
    for name, content in ses.example_files().items():
        assert (EXAMPLES / name).read_text(encoding="utf-8") == content, "regenerate: python -m tests.ses_samples"
