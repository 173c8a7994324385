"""Security: hostile addresses are data, not SQL; a database password never reaches a log line.

The log is everything a Lambda writes to CloudWatch: the structured logger, any other logging (e.g.
SQLAlchemy's pool), stdout/stderr, and the traceback the runtime prints when the handler raises.
"""

from __future__ import annotations

import json
import logging
import os
import re
import traceback
from urllib.parse import quote

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from ses_guard import database, handlers, processor, schema
from ses_guard.aws import Clients
from ses_guard.observability import logger
from ses_guard.parsing import InboundRecord
from ses_guard.provenance import Source
from ses_guard.settings import ConfigurationError, UsersTable, database_settings
from ses_guard.store import EventStore
from tests import ses_samples as ses
from tests.conftest import MYSQL_URL, both_databases, lambda_container

HOSTILE_ADDRESSES = [
    "x'; DROP TABLE users; --@evil.test",
    'a"b;--@q.test',
    "robert');DELETE FROM user_email_log;--@x.test",
    "/* comment */@x.test",
    "#hash@x.test",
    "semi;colon@x.test",
    "back\\slash@x.test",
    "`tick`@x.test",
    "percent%_@x.test",
    "' OR '1'='1@x.test",
    "null\\0byte@x.test",
]
HOSTILE_USER = "o'brien;--@example.com"


def _rows(engine, table, *columns):
    with engine.connect() as connection:
        return connection.execute(select(*[table.c[name] for name in columns])).all()


@both_databases
def test_hostile_recipient_addresses_are_stored_verbatim(engine, lambda_context):
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO users (email_address, validated) VALUES (:address, 1)"), {"address": HOSTILE_USER}
        )
    messages = [ses.notification("Bounce", [address]) for address in [*HOSTILE_ADDRESSES, HOSTILE_USER]]
    response = handlers.process_events(ses.sqs_event([ses.sns_envelope(m) for m in messages]), lambda_context)

    assert response == {"batchItemFailures": []}
    unregistered = sorted(row[0] for row in _rows(engine, schema.unvalidated_email_log, "destination_address"))
    assert unregistered == sorted(HOSTILE_ADDRESSES)
    [(user_address, user_id)] = _rows(engine, schema.user_email_log, "destination_address", "user_id")
    assert user_address == HOSTILE_USER and user_id == 4  # matched to the user despite the quote
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(text("users"))).scalar() == 4
    assert len(_rows(engine, schema.unregistered_recipient, "pair_key")) == len(HOSTILE_ADDRESSES)


@both_databases
def test_hostile_subject_and_diagnostic_are_stored_verbatim(engine):
    subject = "Invoice'); DROP TABLE user_email_log; -- /* */ #"
    diagnostic = 'smtp; 550 5.1.1 <x\'--@q.test>; "quoted" /* nope */'
    message = ses.notification("Bounce", ["user1@example.com"], subject=subject, diagnostic=diagnostic)
    processor.process([InboundRecord("1", message)], EventStore(engine, UsersTable()), Source())

    assert _rows(engine, schema.user_email_log, "subject", "diagnostic_code") == [(subject, diagnostic)]


@both_databases
@pytest.mark.parametrize("sender", ["x'; DROP TABLE users; --@evil.test", 'a"b;--@q.test', "semi;colon@x.test"])
def test_a_hostile_sender_address_is_stored_verbatim(engine, sender):
    # Identity notifications give mail.source as the bare address. parsing.py _sender runs it through
    # email.utils.parseaddr, which cuts such an address at the first quote or semicolon.
    message = ses.notification("Delivery", ["user1@example.com"], source=sender)
    processor.process([InboundRecord("1", message)], EventStore(engine, UsersTable()), Source())

    assert _rows(engine, schema.user_email_log, "source_address") == [(sender,)]


@both_databases
def test_a_failed_statement_does_not_put_the_recipients_in_its_error(engine):
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE unvalidated_email_log"))
    records = [InboundRecord(str(n), message) for n, message in enumerate(ses.scenario_3())]

    with pytest.raises(Exception) as raised:
        processor.process(records, EventStore(engine, UsersTable()), Source())

    error = "".join(traceback.format_exception(raised.type, raised.value, raised.tb))
    assert "unvalidated_email_log" in error  # the error the operator needs is there...
    assert "elsewhere.test" not in error  # ...without the mail it was about


# ---------------------------------------------------------------------------------------------------
# No secret in any log line.

PASSWORD = "Sup3r-S3cret-Pa55w0rd"


def _leaks(output: str, secret: str) -> list:
    """Every fragment of the secret (6 characters or more) that appears in the output."""
    return sorted(
        {secret[i:j] for i in range(len(secret)) for j in range(i + 6, len(secret) + 1) if secret[i:j] in output},
        key=len,
    )[-1:]


@pytest.fixture
def fresh_container(monkeypatch):
    """A new Lambda container: settings read from the environment, no engine yet; restored afterwards."""
    for name in ("DATABASE_URL", "DB_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    lambda_container(monkeypatch)
    return monkeypatch


def _invoke_and_collect(lambda_context, caplog, capsys, structured_log, level: str = "DEBUG") -> str:
    """Invoke the handler with a database that cannot be used; return everything that would be logged.

    As in Lambda: other libraries log at WARNING and up (the runtime's default), the function's own
    logger at the module's `log_level` (POWERTOOLS_LOG_LEVEL; DEBUG is its most verbose setting).
    """
    caplog.set_level(logging.WARNING)
    caplog.set_level(level, logger=logger.name)
    event = ses.sqs_event([ses.sns_envelope(message) for message in ses.scenario_3()])
    with pytest.raises(Exception) as raised:  # the invocation must fail (SQS redelivers the batch)
        handlers.process_events(event, lambda_context)
    captured = capsys.readouterr()
    records = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    runtime_traceback = "".join(traceback.format_exception(raised.type, raised.value, raised.tb))
    return "\n".join(
        [structured_log.getvalue(), records, captured.out, captured.err, runtime_traceback, repr(raised.value)]
    )


def _mysql_host_port():
    url = make_url(MYSQL_URL)
    return url.host or "127.0.0.1", url.port or 3306


@pytest.mark.mysql
@pytest.mark.parametrize(
    "url_template",
    [
        pytest.param("mysql+pymysql://guard:{password}@127.0.0.1:1/guard", id="server-down"),
        pytest.param("mysql+pymysql://guard:{password}@{host}:{port}/guard", id="wrong-password"),
        pytest.param("mysql+pymysql://guard:{password}@{host}:notaport/guard", id="invalid-port"),
        pytest.param("mysql+nosuchdriver://guard:{password}@{host}:{port}/guard", id="unknown-driver"),
        pytest.param("mysql+pymysql://guard:{password}@{host}:{port}/guard?charset=nosuch", id="bad-option"),
        # An '@' in a password not percent-encoded, as operators often paste it.
        pytest.param("mysql+pymysql://guard:P@{password}@{host}:{port}/guard", id="unencoded-at-sign"),
    ],
)
def test_no_database_password_in_the_log_when_database_url_fails(
    fresh_container, lambda_context, caplog, capsys, structured_log, url_template
):
    host, port = _mysql_host_port()
    url = url_template.format(password=PASSWORD, host=host, port=port)
    fresh_container.setenv("DATABASE_URL", url)

    logged = _invoke_and_collect(lambda_context, caplog, capsys, structured_log)

    assert _leaks(logged, PASSWORD) == []
    assert _leaks(logged, "P@" + PASSWORD) == []


@pytest.mark.mysql
@pytest.mark.parametrize(
    "secret",
    [
        pytest.param({"engine": "mysql", "host": "127.0.0.1", "port": 1, "dbname": "guard"}, id="server-down"),
        pytest.param({"engine": "mariadb", "host": "{host}", "port": "{port}", "dbname": "guard"}, id="wrong-password"),
        pytest.param({"engine": "postgres", "host": "{host}", "port": "{port}"}, id="unsupported-engine"),
        pytest.param({"engine": "mysql", "host": "{host}", "port": "not-a-port"}, id="invalid-port"),
    ],
)
def test_no_database_password_in_the_log_when_the_secret_is_unusable(
    fresh_container, lambda_context, caplog, capsys, structured_log, secret
):
    host, port = _mysql_host_port()
    value = {key: str(v).format(host=host, port=port) for key, v in secret.items()}
    value.update(username="guard", password=PASSWORD)
    for name, setting in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        fresh_container.setenv(name, setting)
    fresh_container.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="ses-guard/db", SecretString=json.dumps(value))["ARN"]
        lambda_container(fresh_container, clients={"secretsmanager": client})
        fresh_container.setenv("DB_SECRET_ARN", arn)

        logged = _invoke_and_collect(lambda_context, caplog, capsys, structured_log)

    assert _leaks(logged, PASSWORD) == []


@pytest.mark.parametrize("writer", ["structured logger", "other library", "print"])
def test_the_collected_log_shows_a_password_wherever_it_is_written(
    fresh_container, lambda_context, caplog, capsys, structured_log, writer
):
    """Control for the two tests above: a password written to any part of the log is caught."""
    url = f"mysql+pymysql://guard:{PASSWORD}@127.0.0.1:1/guard"
    fresh_container.setenv("DATABASE_URL", url)
    write = {
        "structured logger": lambda: logger.info("connecting", extra={"url": url}),
        "other library": lambda: logging.getLogger("sqlalchemy.pool").warning("connecting to %s", url),
        "print": lambda: print(url),
    }[writer]
    caplog.set_level(logging.WARNING)
    write()

    assert _leaks(_invoke_and_collect(lambda_context, caplog, capsys, structured_log), PASSWORD) == [PASSWORD]


def test_settings_and_engine_reprs_hide_the_password(fresh_container):
    fresh_container.setenv("DATABASE_URL", f"mysql+pymysql://guard:{PASSWORD}@127.0.0.1:1/guard")
    settings = database_settings(os.environ)
    engine = lambda_container(fresh_container).engine
    try:
        assert _leaks(f"{settings!r} {settings} {engine!r} {engine.url!r} {engine.url}", PASSWORD) == []
    finally:
        engine.dispose()


# Passwords holding every character a URL parser may take for a delimiter, unencoded as operators paste them.
DELIMITED_PASSWORDS = {
    "slash-at-hash": "Xy7/Qw9@Lk3#Zp",  # the case: the tail once showed as the host name
    "question-mark": "Qw9Rt5?Lk3Zp8x",
    "stray-percent": "Lk3%Zp8Qw9Rt5",
    "colons": "Zp8:Qw9:Lk3Rt5",
}


@pytest.mark.parametrize("password", DELIMITED_PASSWORDS.values(), ids=DELIMITED_PASSWORDS.keys())
@pytest.mark.parametrize("encoded", [False, True], ids=["unencoded", "percent-encoded"])
def test_no_fragment_of_a_password_with_delimiters_in_any_output(
    fresh_container, lambda_context, caplog, capsys, structured_log, password, encoded
):
    written = quote(password, safe="") if encoded else password
    fresh_container.setenv("DATABASE_URL", f"mysql+pymysql://guard:{written}@127.0.0.1:1/guard")

    logged = _invoke_and_collect(lambda_context, caplog, capsys, structured_log)

    for fragment in re.split(r"[@/?#%:]", password):
        assert fragment not in logged


@pytest.mark.mysql
@pytest.mark.parametrize("password", DELIMITED_PASSWORDS.values(), ids=DELIMITED_PASSWORDS.keys())
@pytest.mark.parametrize("port", ["{port}", "1"], ids=["wrong-password", "server-down"])
def test_no_fragment_of_a_secret_password_with_delimiters_in_any_output(
    fresh_container, lambda_context, caplog, capsys, structured_log, password, port
):
    host, server_port = _mysql_host_port()
    secret = {"engine": "mysql", "host": host, "port": port.format(port=server_port), "dbname": "guard"}
    secret.update(username="guard", password=password)
    for name, setting in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        fresh_container.setenv(name, setting)
    fresh_container.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="ses-guard/db", SecretString=json.dumps(secret))["ARN"]
        lambda_container(fresh_container, clients={"secretsmanager": client})
        fresh_container.setenv("DB_SECRET_ARN", arn)

        logged = _invoke_and_collect(lambda_context, caplog, capsys, structured_log)

    for fragment in re.split(r"[@/?#%:]", password):
        assert fragment not in logged


@pytest.mark.parametrize(
    "password", [DELIMITED_PASSWORDS[key] for key in ("slash-at-hash", "question-mark", "stray-percent")]
)
def test_an_ambiguous_url_is_refused_with_how_to_encode_it(password):
    with pytest.raises(ConfigurationError) as refused:
        database.resolve_url(
            database_settings({"DATABASE_URL": f"mysql+pymysql://guard:{password}@db.internal:3306/app"}), Clients()
        )

    message = str(refused.value)
    assert message.startswith("DATABASE_URL is ambiguous") and "percent-encode the password" in message
    assert "%2F" in message and "%40" in message and "urllib.parse.quote" in message
    for fragment in re.split(r"[@/?#%:]", password):
        assert fragment not in message


@pytest.mark.mysql
def test_a_percent_encoded_password_with_delimiters_connects(mysql_server):
    password = "Xy7/Qw9@Lk3#Zp:%q?"
    url = make_url(MYSQL_URL)
    with mysql_server.begin() as connection:
        connection.execute(text("CREATE USER IF NOT EXISTS 'ses_guard_delims'@'%' IDENTIFIED BY :pw"), {"pw": password})
    try:
        database_url = f"mysql+pymysql://ses_guard_delims:{quote(password, safe='')}@{url.host}:{url.port or 3306}/"
        engine = database.build_engine(
            database.resolve_url(database_settings({"DATABASE_URL": database_url}), Clients())
        )
        with engine.connect() as connection:
            assert connection.execute(text("SELECT CURRENT_USER()")).scalar().startswith("ses_guard_delims@")
        engine.dispose()
    finally:
        with mysql_server.begin() as connection:
            connection.execute(text("DROP USER IF EXISTS 'ses_guard_delims'@'%'"))
