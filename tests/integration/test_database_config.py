"""Where the database comes from: DATABASE_URL or an RDS-format secret (moto's Secrets Manager)."""

from __future__ import annotations

import json
import traceback

import pytest

from ses_guard import database
from ses_guard.aws import Clients
from ses_guard.settings import ConfigurationError, database_settings


@pytest.fixture
def secretsmanager(moto_clients):
    return moto_clients["secretsmanager"]


def rds_secret(client, **fields):
    return client.create_secret(Name="ses-guard/db", SecretString=json.dumps(fields))["ARN"]


def test_an_rds_secret_names_the_database_and_never_shows_its_password(secretsmanager):
    """Connecting with it goes over verified TLS: see tests/reliability/test_database_tls.py (the suite's
    MariaDB offers no TLS, so it cannot be the server here)."""
    secret = {
        "engine": "mysql",
        "host": "app.cluster-abc.us-east-1.rds.amazonaws.com",
        "port": 3307,
        "username": "ses_guard_probe",
        "password": "pr0be-Secret!",
        "dbname": "app",
    }
    arn = rds_secret(secretsmanager, **secret)

    url = database.resolve_url(database_settings({"DB_SECRET_ARN": arn}), Clients())
    engine = database.build_engine(url)

    assert (url.drivername, url.host, url.port, url.username, url.password, url.database) == (
        "mysql+pymysql",
        "app.cluster-abc.us-east-1.rds.amazonaws.com",
        3307,
        "ses_guard_probe",
        "pr0be-Secret!",
        "app",
    )
    assert "pr0be-Secret!" not in repr(engine.url) + str(engine)
    engine.dispose()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"host": "db", "username": "app"}, "lacks password"),
        ({"engine": "postgres", "host": "db", "username": "app", "password": "pw"}, "supported: mysql, mariadb"),
    ],
)
def test_an_unusable_secret_is_a_clear_error(secretsmanager, fields, message):
    arn = rds_secret(secretsmanager, **fields)
    with pytest.raises(ConfigurationError, match=message):
        database.resolve_url(database_settings({"DB_SECRET_ARN": arn}), Clients())


@pytest.mark.parametrize("url", ["mysql+pymysql://app:hunter2-pw@db:notaport/x", "mysql+pymysql//app:hunter2-pw@db/x"])
def test_a_bad_url_error_says_what_is_wrong_and_carries_no_parser_error(url):
    with pytest.raises(ConfigurationError) as error:
        database.resolve_url(database_settings({"DATABASE_URL": url}), Clients())
    assert str(error.value) == "DATABASE_URL is not a valid SQLAlchemy URL"
    # The parser's own error is not chained: some SQLAlchemy versions quote the whole URL in it.
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert "hunter2-pw" not in "".join(traceback.format_exception(error.type, error.value, error.tb))


def test_no_database_configured_says_what_to_set():
    with pytest.raises(ConfigurationError, match="DATABASE_URL or DB_SECRET_ARN"):
        database.resolve_url(database_settings({}), Clients())
