"""The event processor Lambda against real databases (SQLite and MariaDB): what lands in which table."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import select, text

from ses_guard import database, handlers, processor, schema
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Source
from ses_guard.settings import UsersTable
from ses_guard.store import EventStore
from tests import ses_samples as ses
from tests.conftest import both_databases, emitted_metrics

pytestmark = both_databases


def rows(engine, table):
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(select(table).order_by(table.c.timestamp))]


def invoke(event, context):
    return handlers.process_events(event, context)


def test_scenario_1_validation_emails(engine, lambda_context, capsys):
    response = invoke(ses.sqs_event([ses.sns_envelope(n) for n in ses.scenario_1()]), lambda_context)

    assert response == {"batchItemFailures": []}
    # Published as a zero, not left out: the alarm then sees data, and a silent processor stands out.
    assert emitted_metrics(capsys.readouterr().out) == {"EmailNotRegisteredCount": 0}
    logged = rows(engine, schema.user_email_log)
    assert [(row["user_id"], row["status"]) for row in logged] == [(1, "Delivery"), (2, "Delivery"), (3, "Bounce")]
    bounce = logged[2]
    assert bounce["diagnostic_code"] == ses.USER_UNKNOWN
    assert bounce["bounce_type"] == "Permanent"
    assert bounce["source_address"] == ses.SENDER
    assert bounce["source_ip"] == ses.APP_IP
    assert bounce["source_arn"] == ses.SOURCE_ARN
    assert bounce["subject"] == "Please validate your email"
    assert bounce["aws_sns_message_id"]
    assert rows(engine, schema.unvalidated_email_log) == []


def test_scenario_2_five_bounces_to_user3_over_a_month(engine, lambda_context):
    now = datetime(2026, 11, 28, 12, 0)
    invoke(ses.sqs_event([ses.sns_envelope(n) for n in ses.scenario_2(now)]), lambda_context)

    bounces = [row for row in rows(engine, schema.user_email_log) if row["status"] == "Bounce"]
    assert [row["user_id"] for row in bounces] == [3] * 5
    assert {row["diagnostic_code"] for row in bounces} == {ses.MAILBOX_FULL}
    assert all(now - timedelta(days=30) <= row["timestamp"] <= now for row in bounces)
    with engine.connect() as connection:  # the seed's own query, on the seed's column names
        offenders = connection.execute(
            text(
                "SELECT user_id, COUNT(*) FROM user_email_log WHERE status = 'Bounce' "
                "AND timestamp >= :since GROUP BY user_id HAVING COUNT(*) >= 5"
            ),
            {"since": now - timedelta(days=30)},
        ).all()
    assert [tuple(row) for row in offenders] == [(3, 5)]


def test_scenario_3_mail_to_unregistered_recipients_is_logged_and_counted(engine, lambda_context, capsys):
    invoke(ses.sqs_event([ses.sns_envelope(n) for n in ses.scenario_3()]), lambda_context)

    unregistered = rows(engine, schema.unvalidated_email_log)
    assert len(unregistered) == 10
    assert {row["source_ip"] for row in unregistered} == {ses.ATTACKER_IP}
    assert sorted(row["destination_address"] for row in unregistered) == sorted(
        f"victim{n}@elsewhere.test" for n in range(1, 11)
    )
    assert rows(engine, schema.user_email_log) == []
    assert emitted_metrics(capsys.readouterr().out)["EmailNotRegisteredCount"] == 10


@pytest.mark.parametrize("kind", ses.EVENT_KINDS)
def test_every_event_publishing_type_is_logged_with_its_status(engine, lambda_context, kind):
    message = ses.notification(kind, ["user1@example.com", "stranger@elsewhere.test"], event_publishing=True)
    invoke(ses.sqs_event([ses.sns_envelope(message)]), lambda_context)

    [user_row] = rows(engine, schema.user_email_log)
    [unregistered_row] = rows(engine, schema.unvalidated_email_log)
    assert user_row["status"] == unregistered_row["status"] == kind
    assert user_row["source_address"] == ses.SENDER  # 'Example App <noreply@...>' reduced to the address
    assert user_row["source_ip"] == ses.APP_IP  # from the ses:source-ip tag
    assert user_row["caller_identity"] == "app-sender"
    assert user_row["configuration_set"] == "ses-guard"
    # The event's own time where it has one, else the time the mail was sent.
    detail_key = {"DeliveryDelay": "deliveryDelay", "Rendering Failure": "failure"}.get(kind, kind.lower())
    stamp = message[detail_key].get("timestamp", message["mail"]["timestamp"])
    assert user_row["timestamp"] == datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("kind", ses.IDENTITY_KINDS)
def test_every_identity_notification_type_is_logged(engine, lambda_context, kind):
    message = ses.notification(kind, ["USER2@Example.com ", "user3@example.com"])
    invoke(ses.sqs_event([ses.sns_envelope(message)]), lambda_context)

    logged = rows(engine, schema.user_email_log)
    assert sorted((row["user_id"], row["status"]) for row in logged) == [(2, kind), (3, kind)]
    assert {row["destination_address"] for row in logged} == {"USER2@Example.com ", "user3@example.com"}


def test_diagnostics_of_reject_and_delay(engine, lambda_context):
    reject = ses.notification("Reject", ["user1@example.com"], event_publishing=True)
    delay = ses.notification("DeliveryDelay", ["user2@example.com"], event_publishing=True)
    invoke(ses.sqs_event([ses.sns_envelope(reject), ses.sns_envelope(delay)]), lambda_context)

    by_status = {row["status"]: row for row in rows(engine, schema.user_email_log)}
    assert by_status["Reject"]["diagnostic_code"] == "Bad content"
    assert by_status["DeliveryDelay"]["diagnostic_code"] == "smtp; 421 4.4.1 Unable to connect"


def test_only_the_bounced_recipients_of_a_multi_recipient_mail_are_logged(engine, lambda_context):
    message = ses.notification("Bounce", ["user2@example.com"], destination=["user1@example.com", "user2@example.com"])
    invoke(ses.sqs_event([ses.sns_envelope(message)]), lambda_context)

    assert [row["user_id"] for row in rows(engine, schema.user_email_log)] == [2]


def test_sns_trigger_keeps_the_sns_message_id(engine, lambda_context):
    via_sns = ses.notification("Delivery", ["user1@example.com"])
    assert invoke(ses.sns_event([via_sns], message_id="sns-42"), lambda_context) == {"recipient_events": 1}

    [logged] = rows(engine, schema.user_email_log)
    assert (logged["user_id"], logged["aws_sns_message_id"]) == (1, "sns-42")


def test_handshakes_and_unknown_types_are_skipped_not_failed(engine, lambda_context):
    handshake = {"notificationType": "AmazonSnsSubscriptionSucceeded", "message": "You have successfully..."}
    confirmation = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "c1",
        "Message": "confirm",
        "SubscribeURL": "https://sns.example/confirm",
    }
    unknown = ses.notification("Delivery", ["user1@example.com"])
    unknown["notificationType"] = "Teleport"
    event = ses.sqs_event([ses.sns_envelope(handshake), confirmation, ses.sns_envelope(unknown)])

    assert invoke(event, lambda_context) == {"batchItemFailures": []}
    assert rows(engine, schema.user_email_log) == []


def test_bad_records_fail_alone_and_the_rest_of_the_batch_is_stored(engine, lambda_context, caplog):
    no_mail = ses.notification("Delivery", ["user1@example.com"])
    del no_mail["mail"]
    no_recipients = ses.notification("Bounce", ["user1@example.com"])
    no_recipients["bounce"]["bouncedRecipients"] = []
    long_subject = ses.notification("Delivery", ["user2@example.com"], subject="S" * 10_000)
    injection = ses.notification("Delivery", ["x'; DROP TABLE users; --@evil.test", 'a"b;--@q.test'])
    non_ascii = ses.notification("Delivery", ["jürgen.müller@bücher.de", "用户@例子.广告"])
    good = ses.notification("Delivery", ["user3@example.com"])
    event = ses.sqs_event(
        [
            "{not json",
            ses.sns_envelope("{still not json"),
            ses.sns_envelope(no_mail),
            ses.sns_envelope(no_recipients),
            ses.sns_envelope(long_subject),
            ses.sns_envelope(injection),
            ses.sns_envelope(non_ascii),
            ses.sns_envelope(good),
        ]
    )

    response = invoke(event, lambda_context)

    ids = [record["messageId"] for record in event["Records"]]
    assert response == {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in ids[:4]]}
    rejected = [record for record in caplog.records if record.msg == "record rejected"]
    assert [record.record_id for record in rejected] == ids[:4]
    assert "not valid JSON" in rejected[0].reason
    assert "no 'mail' object" in rejected[2].reason
    assert "names no recipients" in rejected[3].reason
    assert any(record.msg == "subject truncated to fit the column" for record in caplog.records)

    users = {row["user_id"]: row for row in rows(engine, schema.user_email_log)}
    assert set(users) == {2, 3}
    assert users[2]["subject"] == "S" * 998
    unregistered = {row["destination_address"] for row in rows(engine, schema.unvalidated_email_log)}
    assert unregistered == {
        "x'; DROP TABLE users; --@evil.test",
        'a"b;--@q.test',
        "jürgen.müller@bücher.de",
        "用户@例子.广告",
    }
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM users")).scalar() == 3


def test_an_invalid_sns_record_raises_after_storing_nothing_else(engine, lambda_context):
    with pytest.raises(ValueError, match="SNS record"):
        invoke(ses.sns_event(["{not json"]), lambda_context)


def test_the_same_sns_message_twice_is_stored_once_and_counted_once(engine, lambda_context, capsys):
    envelope = ses.sns_envelope(ses.scenario_3()[0])
    invoke(ses.sqs_event([envelope]), lambda_context)
    invoke(ses.sqs_event([envelope, envelope]), lambda_context)

    assert len(rows(engine, schema.unvalidated_email_log)) == 1
    assert emitted_metrics(capsys.readouterr().out)["EmailNotRegisteredCount"] == 1


def test_the_same_event_through_both_paths_is_stored_once(engine, lambda_context, capsys):
    identity = ses.notification("Bounce", ["user3@example.com", "ghost@elsewhere.test"])
    published = json.loads(json.dumps(identity))
    published["eventType"] = published.pop("notificationType")
    invoke(ses.sqs_event([ses.sns_envelope(identity)]), lambda_context)
    invoke(ses.sqs_event([ses.sns_envelope(published)]), lambda_context)

    assert len(rows(engine, schema.user_email_log)) == 1
    assert len(rows(engine, schema.unvalidated_email_log)) == 1
    assert emitted_metrics(capsys.readouterr().out)["EmailNotRegisteredCount"] == 1


def test_a_send_and_its_delivery_count_one_unregistered_recipient(engine, lambda_context, capsys):
    sent = ses.notification("Send", ["ghost@elsewhere.test"], event_publishing=True, message_id="m-1")
    delivered = ses.notification("Delivery", ["ghost@elsewhere.test"], event_publishing=True, message_id="m-1")
    invoke(ses.sqs_event([ses.sns_envelope(sent)]), lambda_context)
    invoke(ses.sqs_event([ses.sns_envelope(delivered)]), lambda_context)

    assert [row["status"] for row in rows(engine, schema.unvalidated_email_log)] == ["Send", "Delivery"]
    assert emitted_metrics(capsys.readouterr().out)["EmailNotRegisteredCount"] == 1


def test_concurrent_writers_of_the_same_events_store_each_once(engine, database_url):
    records = [
        InboundRecord(record_id=str(n), payload=message)
        for n, message in enumerate(ses.scenario_3() + ses.scenario_1())
    ]
    outcomes, errors = [], []
    barrier = threading.Barrier(4)

    def worker():
        # Each thread is its own "container": its own engine and connection.
        own_engine = database.build_engine(database_url)
        try:
            barrier.wait()
            outcomes.append(processor.process(records, EventStore(own_engine, UsersTable()), Source()))
        except Exception as error:
            errors.append(error)
        finally:
            own_engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(rows(engine, schema.unvalidated_email_log)) == 10
    assert len(rows(engine, schema.user_email_log)) == 3
    assert sum(outcome.stored.new_unregistered_pairs for outcome in outcomes) == 10


def test_statements_per_batch_do_not_grow_with_its_size(engine):
    statements = []
    sa_event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    store = EventStore(engine, UsersTable())
    # A container's first batch also reads the email column's collation (tests/integration/test_user_lookup.py).
    processor.process([InboundRecord("warm", ses.notification("Delivery", ["user1@example.com"]))], store, Source())
    for size in (1, 50, 500):
        statements.clear()
        messages = [
            ses.notification("Delivery", [f"user{n % 3 + 1}@example.com", f"ghost{n}@elsewhere.test"])
            for n in range(size)
        ]
        processor.process([InboundRecord(str(n), m) for n, m in enumerate(messages)], store, Source())
        assert len([s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]) <= 4


def test_a_database_failure_mid_batch_commits_nothing_and_the_redelivery_completes(engine, lambda_context):
    event = ses.sqs_event([ses.sns_envelope(n) for n in ses.scenario_1() + ses.scenario_3()])

    def fail_on_unregistered_insert(conn, cursor, statement, *args):
        if "INTO unvalidated_email_log" in statement:
            raise ConnectionError("database went away")

    sa_event.listen(engine, "before_cursor_execute", fail_on_unregistered_insert)
    with pytest.raises(ConnectionError):
        invoke(event, lambda_context)
    sa_event.remove(engine, "before_cursor_execute", fail_on_unregistered_insert)
    # The user rows were inserted before the failure, in the same transaction: none may remain.
    assert rows(engine, schema.user_email_log) == []

    assert invoke(event, lambda_context) == {"batchItemFailures": []}
    assert len(rows(engine, schema.user_email_log)) == 3
    assert len(rows(engine, schema.unvalidated_email_log)) == 10


def test_configured_users_table_and_columns(engine):
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE accounts (id INTEGER PRIMARY KEY, mail VARCHAR(320), ok INTEGER)"))
        connection.execute(text("INSERT INTO accounts VALUES (77, ' Boss@Corp.Example ', 1)"))
    store = EventStore(engine, UsersTable(name="accounts", id_column="id", email_column="mail", validated_column="ok"))
    processor.process([InboundRecord("1", ses.notification("Delivery", ["boss@corp.example"]))], store, Source())

    assert [row["user_id"] for row in rows(engine, schema.user_email_log)] == [77]
