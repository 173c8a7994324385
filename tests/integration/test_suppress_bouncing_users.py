"""Bounce and complaint hygiene on real databases: the seed's Scenario 2, dry runs, the audit trail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select, text

from ses_guard import audit, cli, schema, suppress_bouncing_users
from ses_guard.parsing import InboundRecord
from ses_guard.settings import suppress_bouncing_users_settings
from tests import ses_samples as ses
from tests.conftest import both_databases
from tests.support import pipeline

pytestmark = both_databases

NOW = datetime(2026, 11, 28, 12, 0)


def load(engine, notifications):
    records = [InboundRecord(str(n), message) for n, message in enumerate(notifications)]
    pipeline.process(records, engine)


def validated(engine):
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT email_address, validated FROM users")).all())


def audit_log(engine):
    table = schema.automation_audit_log
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table).order_by(table.c.audit_id))]


def set_user(engine, user_id, **values):
    """What the application does: change a user's address, validate or unvalidate them."""
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with engine.begin() as connection:
        connection.execute(
            text(f"UPDATE users SET {assignments} WHERE user_id = :user_id"), {"user_id": user_id, **values}
        )


def addresses_may_be_erased(engine):
    """The users table of an application whose users' addresses may be erased (GDPR): email_address NULL-able."""
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE users RENAME TO users_before"))
        connection.execute(
            text("CREATE TABLE users (user_id INTEGER PRIMARY KEY, email_address VARCHAR(320), validated INTEGER)")
        )
        connection.execute(text("INSERT INTO users SELECT user_id, email_address, validated FROM users_before"))


def bounces(recipient, count, last):
    return [ses.notification("Bounce", [recipient], sent=last - timedelta(days=day)) for day in range(count)]


def test_scenario_2_invalidates_user3_only_and_audits_it(engine):
    load(engine, ses.scenario_2(NOW))

    changed = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)

    assert [(u.user_id, u.email_address, u.bounces) for u in changed] == [(3, "user3@example.com", 5)]
    assert validated(engine) == {"user1@example.com": 1, "user2@example.com": 1, "user3@example.com": 0}
    [entry] = audit_log(engine)
    assert entry["action"] == "user_invalidated"
    assert entry["target"] == "user:3"
    assert entry["reason"] == "user3@example.com: 5 bounces (Permanent/Transient) in the last 30 days"
    assert (entry["before_value"], entry["after_value"]) == ("validated=1", "validated=0")
    assert entry["actor"] == "ses-guard cli"

    assert (
        suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []
    )  # already invalidated: nothing more to do


def test_dry_run_lists_the_same_users_and_changes_nothing(engine):
    load(engine, ses.scenario_2(NOW))

    would = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), dry_run=True, now=NOW)

    assert [u.user_id for u in would] == [3]
    assert validated(engine)["user3@example.com"] == 1
    assert audit_log(engine) == []


def test_bounces_outside_the_window_or_of_other_types_do_not_count(engine):
    load(engine, ses.scenario_2(NOW))
    settings = suppress_bouncing_users_settings({})

    assert suppress_bouncing_users.run(engine, settings, dry_run=True, now=datetime(2027, 1, 15)) == []
    assert (
        suppress_bouncing_users.run(engine, replace(settings, bounce_types=("Complaint",)), dry_run=True, now=NOW) == []
    )
    assert suppress_bouncing_users.run(engine, replace(settings, bounce_threshold=6), dry_run=True, now=NOW) == []


def test_a_complaint_invalidates_unless_disabled(engine):
    load(engine, [ses.notification("Complaint", ["user2@example.com"], sent=datetime(2026, 11, 27))])

    assert (
        suppress_bouncing_users.run(
            engine, suppress_bouncing_users_settings({"HYGIENE_INVALIDATE_ON_COMPLAINT": "false"}), now=NOW
        )
        == []
    )
    [changed] = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)
    assert (changed.user_id, changed.complaints, changed.reason) == (2, 1, "1 complaint(s) in the last 30 days")
    assert validated(engine)["user2@example.com"] == 0


def complaint(recipient, feedback_type):
    message = ses.notification("Complaint", [recipient], sent=datetime(2026, 11, 27))
    if feedback_type is None:
        del message["complaint"]["complaintFeedbackType"]
    else:
        message["complaint"]["complaintFeedbackType"] = feedback_type
    return message


def test_a_not_spam_report_never_invalidates_but_a_report_without_a_type_does(engine):
    load(engine, [complaint("user2@example.com", "not-spam"), complaint("USER2@example.com ", "not-spam")])

    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []
    assert validated(engine)["user2@example.com"] == 1

    load(engine, [complaint("user3@example.com", None), complaint("user1@example.com", "fraud")])
    changed = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)
    assert [(u.user_id, u.complaints) for u in changed] == [(1, 1), (3, 1)]


def test_the_cli_dry_run_then_run(engine, database_url, monkeypatch, capsys):
    load(engine, ses.scenario_2(audit.utcnow()))
    monkeypatch.setenv("DATABASE_URL", database_url)

    assert cli.main(["suppress-bouncing-users", "--dry-run"]) == 0
    assert capsys.readouterr().out == (
        "would set validated = 0 for 1 user(s) (dry run: nothing changed)\n"
        "         3  user3@example.com                        5 bounces (Permanent/Transient) in the last 30 days\n"
    )
    assert validated(engine)["user3@example.com"] == 1

    assert cli.main(["suppress-bouncing-users", "--threshold", "6"]) == 0
    assert capsys.readouterr().out == "set validated = 0 for 0 user(s) in users\n"
    assert cli.main(["suppress-bouncing-users"]) == 0
    assert capsys.readouterr().out.startswith("set validated = 0 for 1 user(s) in users\n")
    assert validated(engine)["user3@example.com"] == 0


def test_a_user_who_moved_to_a_working_address_is_not_invalidated_again_by_the_old_one(engine):
    load(engine, ses.scenario_2(NOW))
    assert [u.user_id for u in suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)] == [
        3
    ]
    set_user(engine, 3, email_address="user3@new.example.org", validated=1)

    tomorrow = NOW + timedelta(days=1)
    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=tomorrow) == []
    assert validated(engine)["user3@new.example.org"] == 1

    # Bounces to the new address count, however the recipient's case and spacing differ.
    load(engine, bounces(" User3@NEW.example.org", 5, tomorrow))
    [changed] = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=tomorrow)
    assert (changed.user_id, changed.email_address, changed.bounces) == (3, "user3@new.example.org", 5)
    assert validated(engine)["user3@new.example.org"] == 0


def test_a_user_with_a_320_character_address_is_invalidated_and_audited(engine):
    address = "a" * 64 + "@" + ".".join(["b" * 63] * 3 + ["c" * 60, "io"])
    assert len(address) == 320
    set_user(engine, 3, email_address=address)
    load(engine, bounces(address, 5, NOW))

    [changed] = suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)

    assert changed.user_id == 3
    assert validated(engine)[address] == 0
    [entry] = audit_log(engine)
    assert (entry["target"], entry["reason"]) == (
        "user:3",
        f"{address}: 5 bounces (Permanent/Transient) in the last 30 days",
    )


def fix_user_after_the_find(monkeypatch, engine, user_id, **values):
    """Let the application change the user between hygiene finding offenders and updating them."""
    find_offenders = suppress_bouncing_users.find_offenders

    def find_then_fix(*args, **kwargs):
        offenders = find_offenders(*args, **kwargs)
        set_user(engine, user_id, **values)
        return offenders

    monkeypatch.setattr(suppress_bouncing_users, "find_offenders", find_then_fix)


def test_a_user_who_moved_and_was_validated_again_meanwhile_is_not_touched(engine, monkeypatch):
    load(engine, ses.scenario_2(NOW))
    fix_user_after_the_find(monkeypatch, engine, 3, email_address="user3@new.example.org", validated=1)

    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []

    assert validated(engine)["user3@new.example.org"] == 1
    assert audit_log(engine) == []


def test_a_user_whose_address_the_application_erased_meanwhile_is_skipped(engine, monkeypatch):
    addresses_may_be_erased(engine)
    load(engine, ses.scenario_2(NOW))
    fix_user_after_the_find(monkeypatch, engine, 3, email_address=None)

    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []
    assert validated(engine)[None] == 1
    assert audit_log(engine) == []


def test_a_user_the_application_unvalidated_meanwhile_is_neither_reported_nor_audited(engine, monkeypatch):
    load(engine, ses.scenario_2(NOW))
    fix_user_after_the_find(monkeypatch, engine, 3, validated=0)

    assert suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW) == []

    assert validated(engine)["user3@example.com"] == 0
    assert audit_log(engine) == []


def test_a_users_table_in_another_collation_than_the_log(engine):
    if engine.dialect.name in ("mysql", "mariadb"):
        # The application's table, not ours: its collation is whatever the application chose.
        with engine.begin() as connection:
            connection.execute(
                text(
                    "ALTER TABLE users MODIFY email_address VARCHAR(320)"
                    " CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL"
                )
            )
    load(engine, ses.scenario_2(NOW))

    assert [u.user_id for u in suppress_bouncing_users.run(engine, suppress_bouncing_users_settings({}), now=NOW)] == [
        3
    ]
    assert validated(engine)["user3@example.com"] == 0


# As receiving servers word them (Gmail, Outlook, Postfix), the way SES passes them on in diagnosticCode.
GMAIL_NO_SUCH_USER = (
    "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the "
    "recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/"
    "?p=NoSuchUser d2si1234567qkb.123 - gsmtp"
)
GMAIL_OVER_QUOTA = "smtp; 452-4.2.2 The email account that you tried to reach is over quota. - gsmtp"
OUTLOOK_BLOCKED = "smtp; 550 5.7.1 Service unavailable, Client host [192.0.2.25] blocked using Spamhaus"


def test_a_5xx_code_counts_as_permanent_whatever_the_bounce_type_says(engine):
    load(engine, bounces_with("user1@example.com", GMAIL_NO_SUCH_USER, "Transient", "General"))
    load(engine, bounces_with("user2@example.com", GMAIL_OVER_QUOTA, "Transient", "MailboxFull"))
    load(engine, bounces_with("user3@example.com", OUTLOOK_BLOCKED, "Undetermined", "Undetermined"))
    permanent_only = replace(suppress_bouncing_users_settings({}), bounce_types=("Permanent",))

    changed = suppress_bouncing_users.run(engine, permanent_only, now=NOW)

    assert [u.email_address for u in changed] == ["user1@example.com", "user3@example.com"]
    assert validated(engine)["user2@example.com"] == 1
    with engine.connect() as connection:
        codes = connection.execute(
            text(
                "SELECT DISTINCT destination_address, bounce_type, enhanced_status_code FROM user_email_log ORDER BY 1"
            )
        ).all()
    assert [tuple(row) for row in codes] == [
        ("user1@example.com", "Transient", "5.1.1"),
        ("user2@example.com", "Transient", "4.2.2"),
        ("user3@example.com", "Undetermined", "5.7.1"),
    ]


def bounces_with(recipient, diagnostic, bounce_type, bounce_sub_type):
    return [
        ses.notification(
            "Bounce",
            [recipient],
            sent=NOW - timedelta(days=day + 1),
            diagnostic=diagnostic,
            bounce_type=bounce_type,
            bounce_sub_type=bounce_sub_type,
        )
        for day in range(5)
    ]
