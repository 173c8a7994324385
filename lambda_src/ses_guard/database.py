"""The SQLAlchemy engine: one per container, created lazily, replaceable in tests."""

from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from sqlalchemy import URL, create_engine, event
from sqlalchemy.engine import Engine, make_url

from ses_guard.addresses import register_sqlite_function
from ses_guard.observability import logger
from ses_guard.settings import ConfigurationError, DatabaseSettings

# Engines named in an RDS secret that this package has a driver for.
_SECRET_DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mysql+pymysql", "aurora-mysql": "mysql+pymysql"}
# The CAs of every region's RDS and of RDS Proxy, shipped in the package (scripts/rds_ca_bundle.py).
RDS_CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")


def url_from_secret(secret: dict, ca_bundle: Optional[str] = None) -> URL:
    """A URL from a Secrets Manager secret in the RDS JSON format (host, port, username, password, dbname).

    The connection goes over TLS, the server's certificate verified against the RDS CAs (or ca_bundle,
    DB_CA_BUNDLE) and its host name: the credentials and the recipients cross the network.
    """
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
        query={"charset": "utf8mb4", "ssl_ca": ca_bundle or str(RDS_CA_BUNDLE), "ssl_check_hostname": "true"},
    )


# Characters a URL parser may read as the end of the password (or of the whole authority): unencoded in a
# password, they move part of it into the host name or the database name, and so into every error message.
_URL_DELIMITERS = "@/?#"
_NOT_AN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
PERCENT_ENCODING_HINT = (
    "percent-encode the password (@ %40, / %2F, ? %3F, # %23, % %25, : %3A), e.g. "
    "python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=\"\"))' PASSWORD"
)


TLS_REQUIRED = (
    "the database server offered no TLS, which a connection from the RDS secret requires: "
    "enable TLS on the server (RDS has it on by default)"
)


@lru_cache(maxsize=1)
def _tls_only_connection() -> type:
    """PyMySQL's connection, refusing a server that offers no TLS before it authenticates.

    PyMySQL itself goes on in plain text then, and a server (or someone in between who stripped the offer)
    may ask for the password in clear. Imported on first use: the driver is not needed at import time.
    """
    import pymysql
    from pymysql.constants import CLIENT, CR

    class TLSOnlyConnection(pymysql.connections.Connection):
        def _request_authentication(self):
            if not self.server_capabilities & CLIENT.SSL:
                raise pymysql.err.OperationalError(CR.CR_SSL_CONNECTION_ERROR, TLS_REQUIRED)
            super()._request_authentication()

    return TLSOnlyConnection


def _connect_over_tls_only(_dialect, _record, cargs, cparams):
    return _tls_only_connection()(*cargs, **cparams)


def resolve_url(settings: DatabaseSettings, client: Callable[[str], Any]) -> URL:
    """The database's URL: DATABASE_URL, or the RDS secret DB_SECRET_ARN names (client: boto3 clients by
    service, see aws.Clients)."""
    if settings.url:
        return parse_database_url(settings.url)
    if settings.secret_arn:
        response = client("secretsmanager").get_secret_value(SecretId=settings.secret_arn)
        try:
            secret = json.loads(response["SecretString"])
        except (KeyError, ValueError):
            raise ConfigurationError("the database secret is not a JSON SecretString") from None
        return url_from_secret(secret, settings.ca_bundle)
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


# Kept back from the invocation's deadline for rolling back, logging the cause and answering.
RESERVE_SECONDS = 1.0
# Below this, a database wait is not worth starting: the invocation fails at once, saying so.
MIN_WAIT_SECONDS = 0.5
# A socket waits this much longer than the server's own lock waits, so the server's clearer error comes first.
_SOCKET_SLACK_SECONDS = 0.5
SQLITE_BUSY_SECONDS = 30
# Connection character sets that cannot carry every character an event may hold (4-byte UTF-8: emoji).
_FULL_UNICODE_CHARSET = "utf8mb4"

# time.monotonic() by which the current invocation must have answered; None outside Lambda.
_deadline: ContextVar[Optional[float]] = ContextVar("ses_guard_database_deadline", default=None)


class OutOfTime(TimeoutError):
    """Too little of the invocation is left to start (or retry) a database wait."""


@contextmanager
def deadline(seconds_left: Optional[float]) -> Iterator[None]:
    """Within the block, every database wait ends before `seconds_left` (less a reserve) have passed."""
    token = _deadline.set(None if seconds_left is None else time.monotonic() + seconds_left)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_for_another_wait() -> bool:
    """Whether a further attempt (a retry) can still start within the invocation's deadline."""
    deadline_at = _deadline.get()
    return deadline_at is None or deadline_at - time.monotonic() - RESERVE_SECONDS >= MIN_WAIT_SECONDS


def wait_budget(limit: Optional[float]) -> Optional[float]:
    """Seconds one database wait may take now: `limit` (None: no limit of its own), cut to what the
    invocation has left (OutOfTime if that is too little to start one)."""
    deadline_at = _deadline.get()
    if deadline_at is None:
        return None if limit is None else float(limit)
    left = deadline_at - time.monotonic()
    budget = left - RESERVE_SECONDS if limit is None else min(float(limit), left - RESERVE_SECONDS)
    if budget < MIN_WAIT_SECONDS:
        raise OutOfTime(f"only {max(left, 0):.1f} s of the invocation left: too little to wait for the database")
    return budget


def build_engine(
    url: Any,
    pool_recycle_seconds: int = DatabaseSettings.pool_recycle_seconds,
    timeout_seconds: float = DatabaseSettings.timeout_seconds,
) -> Engine:
    """An engine with the pool settings a Lambda container needs, every database wait bounded.

    Each wait (connecting, each read or write, each row or metadata lock) takes at most `timeout_seconds`, or
    less inside a `deadline()` block, so that an invocation always ends in time to say why it failed.
    """
    url = make_url(url)
    # hide_parameters: a failed statement's error would otherwise quote its rows (recipients, subjects) into the log.
    options: dict = {"pool_pre_ping": True, "future": True, "hide_parameters": True}
    backend = url.get_backend_name()
    if backend == "sqlite":
        # Concurrent writers wait for the lock instead of failing at once.
        options["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS}
    else:
        # A container handles one invocation at a time; recycle below MySQL's and proxies' idle timeouts.
        options.update(pool_size=1, max_overflow=1, pool_recycle=pool_recycle_seconds)
        if backend == "mysql":
            url = _with_full_unicode_charset(url)
    engine = create_engine(url, **options)
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_setup)
        event.listen(engine, "checkout", _sqlite_within_deadline)
    elif backend == "mysql" and engine.dialect.driver == "pymysql":
        bounds = _PyMySQLBounds(timeout_seconds)
        event.listen(engine, "do_connect", bounds.on_connect)
        event.listen(engine, "checkout", bounds.on_checkout)
        event.listen(engine, "before_cursor_execute", bounds.before_statement)
        event.listen(engine, "commit", bounds.before_commit)
        if "ssl_ca" in url.query:
            # After the bounds: it connects with the parameters they set.
            event.listen(engine, "do_connect", _connect_over_tls_only)
    return engine


def _with_full_unicode_charset(url: URL) -> URL:
    charset = url.query.get("charset")
    if charset != _FULL_UNICODE_CHARSET:
        if charset is not None:
            logger.warning(
                "DATABASE_URL's connection charset cannot carry every character (4-byte UTF-8 such as emoji "
                "would be stored as '?'): using utf8mb4 instead",
                extra={"charset": charset},
            )
        url = url.update_query_dict({"charset": _FULL_UNICODE_CHARSET})
    return url


class _PyMySQLBounds:
    """Keeps the waits of a PyMySQL connection within the configured limit and the invocation's deadline.

    Connecting (the server's greeting included) and each lock wait take at most the limit: the session's
    innodb_lock_wait_timeout and lock_wait_timeout (metadata locks, such as an ALTER TABLE queued behind a
    reader) make the server itself give up first, with its own error. A statement's answer is awaited as long
    as the invocation has time (socket read and write timeouts), and without a deadline (the CLI) as long as
    it runs: a large migration or report may take minutes on a healthy server.
    """

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds

    def on_connect(self, _dialect, connection_record, _cargs, cparams) -> None:
        budget = wait_budget(self.timeout_seconds)
        lock_wait = _lock_wait_seconds(budget)
        cparams.update(
            connect_timeout=budget,
            read_timeout=budget + _SOCKET_SLACK_SECONDS,  # the greeting and the login; see on_checkout
            write_timeout=budget + _SOCKET_SLACK_SECONDS,
            init_command=_lock_wait_statement(lock_wait),
        )
        connection_record.info["lock_wait_seconds"] = lock_wait

    def on_checkout(self, dbapi_connection, connection_record, _proxy) -> None:
        lock_wait = _lock_wait_seconds(wait_budget(self.timeout_seconds))
        _bound_statements(dbapi_connection)
        if connection_record.info.get("lock_wait_seconds") != lock_wait:
            # Only when the deadline is nearer than the configured limit (or no longer is): no extra
            # statement in the common case.
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(_lock_wait_statement(lock_wait))
            finally:
                cursor.close()
            connection_record.info["lock_wait_seconds"] = lock_wait

    def before_statement(self, connection, _cursor, _statement, _parameters, _context, _executemany) -> None:
        _bound_statements(connection.connection.dbapi_connection)

    def before_commit(self, connection) -> None:
        _bound_statements(connection.connection.dbapi_connection)


def _bound_statements(dbapi_connection: Any) -> None:
    budget = wait_budget(None)
    seconds = None if budget is None else budget + _SOCKET_SLACK_SECONDS
    # PyMySQL applies these to its socket before every read and write; it has no public setter.
    dbapi_connection._read_timeout = seconds
    dbapi_connection._write_timeout = seconds


def _lock_wait_seconds(budget: float) -> int:
    return max(1, int(budget))


def _lock_wait_statement(seconds: int) -> str:
    return f"SET SESSION innodb_lock_wait_timeout = {seconds}, lock_wait_timeout = {seconds}"


def _sqlite_setup(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.close()
    register_sqlite_function(dbapi_connection)


def _sqlite_within_deadline(dbapi_connection, connection_record, _proxy) -> None:
    busy_ms = int(wait_budget(SQLITE_BUSY_SECONDS) * 1000)
    if connection_record.info.get("busy_ms", SQLITE_BUSY_SECONDS * 1000) != busy_ms:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.close()
        connection_record.info["busy_ms"] = busy_ms


def describe_failure(error: BaseException) -> str:
    """One line naming why a database operation failed, for the invocation's last log line (no secrets:
    DATABASE_URL was refused if its password could leak into a host name)."""
    if isinstance(error, OutOfTime):
        return str(error)
    original = getattr(error, "orig", None) or error
    args = getattr(original, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    message = str(args[1]) if len(args) > 1 else str(original)
    if code == 1205:
        return (
            "lock wait timeout: another session held a row or table (metadata) lock longer than this session may wait"
        )
    if code == 1213:
        return "deadlock: chosen as the victim on every attempt"
    if code in (2003, 2013) and "timed out" in message:
        return "the database did not answer in time (connect, read or write timeout): host hung or overloaded"
    if code is not None:
        return f"database error {code}: {message}"
    return f"{type(error).__name__}: {error}"


def engine_for(settings: DatabaseSettings, client: Callable[[str], Any]) -> Engine:
    """The engine the settings describe (build_engine), for a Lambda container or a CLI run to create once."""
    return build_engine(resolve_url(settings, client), settings.pool_recycle_seconds, settings.timeout_seconds)
