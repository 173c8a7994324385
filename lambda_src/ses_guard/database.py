"""The SQLAlchemy engine: one per container, created lazily, replaceable in tests."""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from sqlalchemy import URL, create_engine, event
from sqlalchemy.engine import Engine, make_url

from ses_guard import aws
from ses_guard.settings import ConfigurationError, Settings, get_settings

_engine: Optional[Engine] = None

# Engines named in an RDS secret that this package has a driver for.
_SECRET_DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "aurora-mysql": "mysql+pymysql"}


def url_from_secret(secret: dict) -> URL:
    """A URL from a Secrets Manager secret in the RDS JSON format (host, port, username, password, dbname)."""
    missing = [key for key in ("host", "username", "password") if not secret.get(key)]
    if missing:
        raise ConfigurationError(f"database secret lacks {', '.join(missing)}")
    engine_name = str(secret.get("engine") or "mysql").lower()
    if engine_name not in _SECRET_DRIVERS:
        raise ConfigurationError(f"database secret names engine {engine_name!r}; supported: mysql, mariadb")
    return URL.create(
        _SECRET_DRIVERS[engine_name],
        username=secret["username"],
        password=secret["password"],
        host=secret["host"],
        port=int(secret.get("port") or 3306),
        database=secret.get("dbname") or None,
        query={"charset": "utf8mb4"},
    )


# Characters a URL parser may read as the end of the password (or of the whole authority): unencoded in a
# password, they move part of it into the host name or the database name, and so into every error message.
_URL_DELIMITERS = "@/?#"
_NOT_AN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
PERCENT_ENCODING_HINT = (
    "percent-encode the password (@ %40, / %2F, ? %3F, # %23, % %25, : %3A), e.g. "
    "python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' PASSWORD"
)


def resolve_url(settings: Settings) -> URL:
    if settings.database_url:
        return parse_database_url(settings.database_url)
    if settings.db_secret_arn:
        response = aws.client("secretsmanager").get_secret_value(SecretId=settings.db_secret_arn)
        try:
            secret = json.loads(response["SecretString"])
        except (KeyError, ValueError):
            raise ConfigurationError("the database secret is not a JSON SecretString") from None
        return url_from_secret(secret)
    raise ConfigurationError("set DATABASE_URL or DB_SECRET_ARN")


def parse_database_url(database_url: str) -> URL:
    """DATABASE_URL as a URL, refused when its password cannot be read unambiguously.

    The user information ends at the last '@' of the URL: anything before it that a parser could take for
    the end of the password is refused (never guessed), with how to encode it; no message names the password.
    """
    _scheme, separator, rest = database_url.partition("://")
    user_info = rest.rpartition("@")[0] if separator else ""
    delimiters = sorted({character for character in user_info if character in _URL_DELIMITERS})
    if _NOT_AN_ESCAPE.search(user_info):
        delimiters.append("%")
    if delimiters:
        raise ConfigurationError(
            f"DATABASE_URL is ambiguous: its user name or password holds {' '.join(delimiters)} unencoded; "
            + PERCENT_ENCODING_HINT
        )
    try:
        return make_url(database_url)
    except Exception:
        # The parser's message would echo the URL, password included.
        raise ConfigurationError("DATABASE_URL is not a valid SQLAlchemy URL") from None


def build_engine(url: Any, pool_recycle_seconds: int = 300) -> Engine:
    """An engine with the pool settings a Lambda container needs."""
    url = make_url(url)
    # hide_parameters: a failed statement's error would otherwise quote its rows (recipients, subjects) into the log.
    options: dict = {"pool_pre_ping": True, "future": True, "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        # Concurrent writers wait for the lock instead of failing at once.
        options["connect_args"] = {"timeout": 30}
    else:
        # A container handles one invocation at a time; recycle below MySQL's and proxies' idle timeouts.
        options.update(pool_size=1, max_overflow=1, pool_recycle=pool_recycle_seconds)
        if url.get_backend_name() == "mysql" and "charset" not in url.query:
            url = url.update_query_dict({"charset": "utf8mb4"})
    engine = create_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine() -> Engine:
    """The container's engine, created on first use from the settings."""
    global _engine
    if _engine is None:
        settings = get_settings()
        _engine = build_engine(resolve_url(settings), settings.db_pool_recycle_seconds)
    return _engine


def set_engine(engine: Optional[Engine]) -> None:
    """Inject an engine (tests, CLI); None makes the next get_engine() build one from the settings."""
    global _engine
    _engine = engine
