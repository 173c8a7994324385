"""Where the database comes from: DATABASE_URL or an RDS-format secret (moto's Secrets Manager)."""

from __future__ import annotations

import json
import traceback

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ses_guard import database
from ses_guard.settings import ConfigurationError, from_env
from tests.conftest import MYSQL_URL


@pytest.fixture
def secretsmanager(moto_clients):
    return moto_clients["secretsmanager"]


def rds_secret(client, **fields):
    return client.create_secret(Name="ses-guard/db", SecretString=json.dumps(fields))["ARN"]


@pytest.mark.mysql
def test_an_rds_secret_connects_to_mariadb(secretsmanager, mysql_server):
    url = make_url(MYSQL_URL)
    secret = {
        "engine": "mysql",
        "host": url.host,
        "port": url.port or 3306,
        "username": "ses_guard_probe",
        "password": "pr0be-Secret!",
        "dbname": url.database,
    }
    arn = rds_secret(secretsmanager, **secret)
    with mysql_server.begin() as connection:
        connection.execute(text("CREATE USER IF NOT EXISTS 'ses_guard_probe'@'%' IDENTIFIED BY 'pr0be-Secret!'"))
        connection.execute(text(f"GRANT SELECT ON `{url.database}`.* TO 'ses_guard_probe'@'%'"))
    try:
        engine = database.build_engine(database.resolve_url(from_env({"DB_SECRET_ARN": arn})))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT CURRENT_USER()")).scalar().startswith("ses_guard_probe@")
        assert "pr0be-Secret!" not in repr(engine.url) + str(engine)
        engine.dispose()
    finally:
        with mysql_server.begin() as connection:
            connection.execute(text("DROP USER IF EXISTS 'ses_guard_probe'@'%'"))


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
        database.resolve_url(from_env({"DB_SECRET_ARN": arn}))


@pytest.mark.parametrize("url", ["mysql+pymysql://app:hunter2-pw@db:notaport/x", "mysql+pymysql//app:hunter2-pw@db/x"])
def test_a_bad_url_error_says_what_is_wrong_and_carries_no_parser_error(url):
    with pytest.raises(ConfigurationError) as error:
        database.resolve_url(from_env({"DATABASE_URL": url}))
    assert str(error.value) == "DATABASE_URL is not a valid SQLAlchemy URL"
    # The parser's own error is not chained: some SQLAlchemy versions quote the whole URL in it.
    assert error.value.__cause__ is None and error.value.__suppress_context__
    assert "hunter2-pw" not in "".join(traceback.format_exception(error.type, error.value, error.tb))


def test_no_database_configured_says_what_to_set():
    with pytest.raises(ConfigurationError, match="DATABASE_URL or DB_SECRET_ARN"):
        database.resolve_url(from_env({}))
