"""The SES suppression list, two-way, against moto (extended with the sesv2 suppression calls), on SQLite and
MariaDB: hygiene's opt-in sync, `ses-guard suppression diff` and `remove`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from ses_guard import suppress_bouncing_users
from ses_guard.parsing import InboundRecord
from ses_guard.settings import suppress_bouncing_users_settings
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.integration.test_automation import audit_entries
from tests.integration.test_cli import run
from tests.support import moto_sesv2, pipeline

pytestmark = both_databases

NOW = datetime(2026, 11, 28, 12, 0)
LISTED_AT = datetime(2026, 11, 2, 7, 30, tzinfo=timezone.utc)


def load(engine, notifications):
    pipeline.process([InboundRecord(str(n), m) for n, m in enumerate(notifications)], engine)


def suppressed(sesv2):
    found, token = {}, None
    while True:
        page = sesv2.list_suppressed_destinations(PageSize=1000, **({"NextToken": token} if token else {}))
        found.update({s["EmailAddress"]: s["Reason"] for s in page["SuppressedDestinationSummaries"]})
        token = page.get("NextToken")
        if not token:
            return found


@pytest.fixture
def sesv2(engine, moto_clients):
    return moto_clients["sesv2"]


def test_suppress_bouncing_users_adds_what_it_invalidates_to_the_suppression_list_when_asked(sesv2, engine):
    load(engine, ses.scenario_2(NOW))
    load(engine, [ses.notification("Complaint", ["user1@example.com"], sent=NOW - timedelta(days=1))])

    suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW, sesv2=sesv2)
    assert suppressed(sesv2) == {}  # off by default

    load(engine, [ses.notification("Complaint", ["user2@example.com"], sent=NOW - timedelta(days=1))])
    changed = suppress_bouncing_users.run(
        engine, suppress_bouncing_users_settings({"SYNC_SUPPRESSION_LIST": "true"}), now=NOW, sesv2=sesv2
    )

    assert [user.email_address for user in changed] == ["user2@example.com"]
    assert suppressed(sesv2) == {"user2@example.com": "COMPLAINT"}
    [added] = [e for e in audit_entries(engine) if e["action"] == "suppression_added"]
    assert (added["target"], added["after_value"]) == ("user:2", "suppressed (COMPLAINT)")
    assert added["reason"] == "user2@example.com: 1 complaint(s) in the last 30 days"


def test_a_bouncing_user_is_suppressed_for_bounces(sesv2, engine):
    load(engine, ses.scenario_2(NOW))

    suppress_bouncing_users.run(
        engine, suppress_bouncing_users_settings({"SYNC_SUPPRESSION_LIST": "true"}), now=NOW, sesv2=sesv2
    )

    assert suppressed(sesv2) == {"user3@example.com": "BOUNCE"}


def test_the_diff_reads_a_list_of_several_pages_and_names_both_sides(sesv2, engine, database_url, monkeypatch, capsys):
    load(engine, ses.scenario_2(NOW))
    suppress_bouncing_users.run(
        engine, suppress_bouncing_users_settings({}), now=NOW
    )  # user3 invalidated in the application only
    unregistered = [(f"gone{n:05d}@elsewhere.test", "BOUNCE", LISTED_AT) for n in range(2_400)]
    moto_sesv2.add_suppressed_destinations([*unregistered, ("User2@Example.com", "COMPLAINT", LISTED_AT)])

    status, out, _ = run(monkeypatch, capsys, database_url, "suppression", "diff", "--json")

    assert status == 0
    result = json.loads(out)
    assert (result["suppressed_total"], result["pages"]) == (2_401, 3)
    [app_only] = result["invalidated_not_suppressed"]
    assert (app_only["user_id"], app_only["email_address"]) == (3, "user3@example.com")
    assert app_only["reason"] == "5 bounces (Permanent/Transient) in the last 30 days"
    assert app_only["since"] is not None
    assert result["suppressed_still_valid"] == [
        {"email_address": "User2@Example.com", "user_id": 2, "reason": "COMPLAINT", "since": "2026-11-02T07:30:00"}
    ]

    status, out, _ = run(monkeypatch, capsys, database_url, "suppression", "diff")
    assert "SES suppression list: 2401 address(es) (3 page(s))" in out
    assert "invalidated in the application, not suppressed by SES: 1" in out


def test_remove_gives_an_address_a_second_chance_each_step_audited(sesv2, engine, database_url, monkeypatch, capsys):
    load(engine, ses.scenario_2(NOW))
    suppress_bouncing_users.run(
        engine, suppress_bouncing_users_settings({"SYNC_SUPPRESSION_LIST": "true"}), now=NOW, sesv2=sesv2
    )

    status, out, _ = run(
        monkeypatch, capsys, database_url, "suppression", "remove", "user3@example.com", "--revalidate"
    )

    assert status == 0
    assert out == "user3@example.com: removed from SES's list\nvalidated = 1 again for user(s): 3\n"
    assert suppressed(sesv2) == {}
    steps = [(e["action"], e["target"]) for e in audit_entries(engine)][-2:]
    assert steps == [("suppression_removed", "ses-suppression-list"), ("user_revalidated", "user:3")]
    status, out, _ = run(monkeypatch, capsys, database_url, "suppression", "diff", "--json")
    assert json.loads(out)["invalidated_not_suppressed"] == []

    status, out, _ = run(monkeypatch, capsys, database_url, "suppression", "remove", "nobody@example.com")
    assert (status, out) == (1, "nobody@example.com: was not on SES's list\n")


def test_remove_revalidates_the_user_the_matching_rule_finds(sesv2, engine, database_url, monkeypatch, capsys):
    """The address typed by the operator and the one stored match by the one rule (Unicode case, spaces), as
    everywhere else: not by SQL's LOWER, which leaves ẞ alone on SQLite."""
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (user_id, email_address, validated) VALUES (7, ' STRAẞE@Example.com', 0)")
        )

    status, out, _ = run(
        monkeypatch, capsys, database_url, "suppression", "remove", "straße@example.com", "--revalidate"
    )

    assert (status, out) == (0, "straße@example.com: was not on SES's list\nvalidated = 1 again for user(s): 7\n")
