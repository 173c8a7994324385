"""Bounce and complaint hygiene on real databases: the seed's Scenario 2, dry runs, the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import text

from ses_guard import audit, cli, hygiene, processor
from ses_guard.parsing import InboundRecord
from ses_guard.settings import from_env
from tests import ses_samples as ses
from tests.conftest import both_databases

pytestmark = both_databases

NOW = datetime(2026, 11, 28, 12, 0)


def load(engine, notifications):
    records = [InboundRecord(str(n), message) for n, message in enumerate(notifications)]
    processor.process(records, processor.get_store())


def validated(engine):
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT email_address, validated FROM users")).all())


def test_scenario_2_invalidates_user3_only_and_audits_it(engine):
    load(engine, ses.scenario_2(NOW))

    changed = hygiene.run(engine, from_env({}), now=NOW)

    assert [(u.user_id, u.email_address, u.bounces) for u in changed] == [(3, "user3@example.com", 5)]
    assert validated(engine) == {"user1@example.com": 1, "user2@example.com": 1, "user3@example.com": 0}
    with engine.connect() as connection:
        [entry] = audit.entries(connection)
    assert entry["action"] == "user_invalidated"
    assert entry["target"] == "user:3 <user3@example.com>"
    assert entry["reason"] == "5 bounces (Permanent/Transient) in the last 30 days"
    assert (entry["before_value"], entry["after_value"]) == ("validated=1", "validated=0")
    assert entry["actor"] == "ses-guard cli"

    assert hygiene.run(engine, from_env({}), now=NOW) == []  # already invalidated: nothing more to do


def test_dry_run_lists_the_same_users_and_changes_nothing(engine):
    load(engine, ses.scenario_2(NOW))

    would = hygiene.run(engine, from_env({}), dry_run=True, now=NOW)

    assert [u.user_id for u in would] == [3]
    assert validated(engine)["user3@example.com"] == 1
    with engine.connect() as connection:
        assert audit.entries(connection) == []


def test_bounces_outside_the_window_or_of_other_types_do_not_count(engine):
    load(engine, ses.scenario_2(NOW))
    settings = from_env({})

    assert hygiene.run(engine, settings, dry_run=True, now=datetime(2027, 1, 15)) == []
    assert hygiene.run(engine, replace(settings, hygiene_bounce_types=("Permanent",)), dry_run=True, now=NOW) == []
    assert hygiene.run(engine, replace(settings, hygiene_bounce_threshold=6), dry_run=True, now=NOW) == []


def test_a_complaint_invalidates_unless_disabled(engine):
    load(engine, [ses.notification("Complaint", ["user2@example.com"], sent=datetime(2026, 11, 27))])

    assert hygiene.run(engine, from_env({"HYGIENE_INVALIDATE_ON_COMPLAINT": "false"}), now=NOW) == []
    [changed] = hygiene.run(engine, from_env({}), now=NOW)
    assert (changed.user_id, changed.complaints, changed.reason) == (2, 1, "1 complaint(s) in the last 30 days")
    assert validated(engine)["user2@example.com"] == 0


def test_the_cli_dry_run_then_run(engine, database_url, monkeypatch, capsys):
    load(engine, ses.scenario_2(audit.utcnow()))
    monkeypatch.setenv("DATABASE_URL", database_url)
    cli.get_settings.cache_clear()

    assert cli.main(["hygiene", "--dry-run"]) == 0
    assert capsys.readouterr().out == (
        "would set validated = 0 for 1 user(s)\n"
        "         3  user3@example.com                        5 bounces (Permanent/Transient) in the last 30 days\n"
    )
    assert validated(engine)["user3@example.com"] == 1

    assert cli.main(["hygiene", "--threshold", "6"]) == 0
    assert capsys.readouterr().out == "set validated = 0 for 0 user(s)\n"
    assert cli.main(["hygiene"]) == 0
    assert capsys.readouterr().out.startswith("set validated = 0 for 1 user(s)\n")
    assert validated(engine)["user3@example.com"] == 0
    cli.get_settings.cache_clear()
