"""What hygiene counts (the window's first instant, every spelling of an address) and the reason it records
and logs, as an operator reads them in the audit log (issue 17)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from ses_guard import suppress_bouncing_users
from ses_guard.settings import suppress_bouncing_users_settings
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.integration.test_suppress_bouncing_users import (
    NOW,
    addresses_may_be_erased,
    audit_log,
    bounces,
    bounces_with,
    load,
    set_user,
    validated,
)

pytestmark = both_databases


def test_a_bounce_at_the_first_instant_of_the_window_counts(engine):
    # The five bounces at 30 days, 23, 16, 9 and 2 days before the run; the oldest exactly 30 days.
    load(engine, [ses.notification("Bounce", ["user3@example.com"], event_time=NOW - timedelta(days=30))])
    load(engine, bounces("user3@example.com", 4, NOW - timedelta(days=2)))

    changed = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)

    assert [(user.user_id, user.bounces) for user in changed] == [(3, 5)]


def test_bounces_and_complaints_to_every_spelling_of_an_address_add_up(engine):
    load(engine, bounces("USER3@Example.com", 3, NOW - timedelta(days=1)))
    load(engine, bounces(" user3@example.com", 2, NOW - timedelta(days=10)))
    for spelling in ("User3@example.com", "user3@EXAMPLE.com"):
        load(engine, [ses.notification("Complaint", [spelling], sent=NOW - timedelta(days=3))])

    changed = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)

    assert [(user.user_id, user.bounces, user.complaints) for user in changed] == [(3, 5, 2)]
    assert validated(engine)["user3@example.com"] == 0


def test_bounces_and_a_complaint_are_both_in_the_reason(engine):
    load(engine, bounces("user3@example.com", 5, NOW - timedelta(days=1)))
    load(engine, [ses.notification("Complaint", ["user3@example.com"], sent=NOW - timedelta(days=3))])

    [changed] = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)

    reason = "5 bounces (Permanent/Transient) and 1 complaint(s) in the last 30 days"
    assert (changed.bounces, changed.complaints, changed.reason) == (5, 1, reason)
    [entry] = audit_log(engine)
    assert (entry["reason"], entry["occurred_at"]) == (f"user3@example.com: {reason}", NOW)


def test_a_complaint_alone_counts_no_bounce(engine):
    load(engine, [ses.notification("Complaint", ["user2@example.com"], sent=NOW - timedelta(days=3))])

    [changed] = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)

    assert (changed.user_id, changed.bounces, changed.complaints) == (2, 0, 1)


def test_the_reason_says_the_configured_types_and_window(engine):
    load(engine, bounces("user3@example.com", 2, NOW - timedelta(days=1)))
    settings = suppress_bouncing_users_settings(
        {"HYGIENE_BOUNCE_THRESHOLD": "2", "HYGIENE_WINDOW_DAYS": "7", "HYGIENE_BOUNCE_TYPES": "Permanent"}
    )

    [changed] = suppress_bouncing_users.run(engine, settings, now=NOW)

    assert changed.reason == "2 bounces (Permanent) in the last 7 days"


def test_a_complaint_alone_with_complaints_not_invalidating_leaves_bounces_to_decide(engine):
    load(engine, bounces("user3@example.com", 5, NOW - timedelta(days=1)))
    load(engine, [ses.notification("Complaint", ["user2@example.com"], sent=NOW - timedelta(days=3))])
    load(engine, [ses.notification("Complaint", ["user3@example.com"], sent=NOW - timedelta(days=3))])

    changed = suppress_bouncing_users.run(
        engine, suppress_bouncing_users_settings({"HYGIENE_INVALIDATE_ON_COMPLAINT": "false"}), now=NOW
    )

    assert [(user.user_id, user.reason) for user in changed] == [
        (3, "5 bounces (Permanent/Transient) in the last 30 days")
    ]
    assert validated(engine)["user2@example.com"] == 1


@pytest.mark.parametrize("dry_run", [True, False])
def test_each_run_is_one_log_line_naming_the_users(engine, caplog, dry_run):
    load(engine, ses.scenario_2(NOW))

    with caplog.at_level(logging.INFO):
        suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), dry_run=dry_run, now=NOW)

    [line] = [record for record in caplog.records if record.getMessage() == "hygiene run"]
    assert (line.levelno, line.dry_run, line.invalidated_user_ids) == (logging.INFO, dry_run, [3])


def test_syncing_the_suppression_list_without_its_client_is_refused_by_name(engine):
    load(engine, ses.scenario_2(NOW))

    with pytest.raises(ValueError) as raised:
        suppress_bouncing_users.run(
            engine, suppress_bouncing_users_settings({"SYNC_SUPPRESSION_LIST": "true"}), now=NOW
        )

    assert str(raised.value) == "hygiene with sync_suppression_list needs the sesv2 client"


@pytest.mark.parametrize(
    ("bounce_types", "invalidated"), [("Permanent,Transient", [3]), ("Permanent", [])], ids=["counted", "not-a-type"]
)
def test_a_bounce_without_a_5xx_code_counts_as_the_type_ses_gave_it(engine, bounce_types, invalidated):
    # A mailbox over quota for days: SES says Transient, the server a temporary 4.x.x code.
    load(engine, bounces_with("user3@example.com", "smtp; 452 4.2.2 Mailbox full", "Transient", "MailboxFull"))
    load(engine, bounces_with("user2@example.com", "", "Transient", "General"))  # no code at all

    changed = suppress_bouncing_users.run(
        engine, suppress_bouncing_users_settings({"HYGIENE_BOUNCE_TYPES": bounce_types}), now=NOW
    )

    assert [user.user_id for user in changed] == ([2, 3] if invalidated else [])


def test_bounces_are_counted_per_user_when_an_address_changes_hands(engine):
    """user1's address went to user2 for a while and came back: the bounces logged for each are theirs, not
    added up (3 for user1, 2 for user2, 5 in all)."""
    set_user(engine, 1, email_address="shared@example.com")
    load(engine, bounces("shared@example.com", 3, NOW - timedelta(days=10)))
    set_user(engine, 1, email_address="user1@new.example.org")
    set_user(engine, 2, email_address="shared@example.com")
    load(engine, bounces("shared@example.com", 2, NOW - timedelta(days=1)))
    set_user(engine, 2, email_address="user2@new.example.org")
    set_user(engine, 1, email_address="shared@example.com")

    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []
    assert validated(engine)["shared@example.com"] == 1


def test_a_user_already_unvalidated_or_without_an_address_is_not_listed_even_in_a_dry_run(engine):
    addresses_may_be_erased(engine)
    load(engine, bounces("user3@example.com", 5, NOW - timedelta(days=1)))
    load(engine, bounces("user2@example.com", 5, NOW - timedelta(days=1)))
    set_user(engine, 2, validated=0)  # the application did it already
    set_user(engine, 3, email_address=None)  # the application erased the address

    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), dry_run=True, now=NOW) == []
    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []
    assert audit_log(engine) == []


def test_a_run_and_its_suppressions_are_audited_at_the_runs_time(engine, moto_clients):
    load(engine, ses.scenario_2(NOW))

    suppress_bouncing_users.run(
        engine,
        suppress_bouncing_users_settings({"SYNC_SUPPRESSION_LIST": "true"}),
        now=NOW,
        sesv2=moto_clients["sesv2"],
    )

    assert [(entry["action"], entry["target"], entry["occurred_at"]) for entry in audit_log(engine)] == [
        ("user_invalidated", "user:3", NOW),
        ("suppression_added", "user:3", NOW),
    ]
