"""The benchmark's input: SQS records as the event processor receives them, and the database they land in.

The database holds a production-sized users table (1,000,000 users, addresses in mixed case, the email
column indexed), built once per bench run and shared by every measurement.
"""

from __future__ import annotations

import json
import time
import uuid
import zlib
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from ses_guard import database, migrate
from ses_guard.parsing import SQS_SOURCE, InboundRecord
from tests import ses_samples as ses

USERS = 1_000_000
USER_SHARE = 0.3  # of the recipients


# A user's address as the application stores it, in mixed case; a recipient is the same, lower-cased.
USER_PREFIX, USER_DOMAIN = "User", "@Example.com"


def user_address(user_id: int) -> str:
    return f"{USER_PREFIX}{user_id}{USER_DOMAIN}"


def recipient(tag: str, n: int) -> str:
    """3 in 10 recipients are users, spread over the whole table; the others are distinct strangers."""
    if n % 10 < USER_SHARE * 10:
        return user_address(1 + zlib.crc32(f"{tag}:{n}".encode()) % USERS).lower()
    return f"stranger-{tag}-{n}@elsewhere.test"


def ses_messages(count: int, tag: str) -> List[dict]:
    """`count` distinct SES Delivery notifications, one recipient each."""
    base = datetime(2026, 11, 1)
    return [
        ses.notification(
            "Delivery",
            [recipient(tag, n)],
            message_id=f"0100018c-{tag}-{n:07d}-000000",
            sent=base + timedelta(seconds=n),
            subject=f"Your weekly summary #{n}",
        )
        for n in range(count)
    ]


def sns_envelopes(count: int, tag: str) -> List[dict]:
    """What SNS delivers for each message: the envelope around the SES JSON, with its own message id."""
    return [ses.sns_envelope(message, message_id=str(uuid.uuid4())) for message in ses_messages(count, tag)]


def sqs_bodies(count: int, tag: str) -> List[str]:
    """The same events as SQS bodies: the SNS envelope as JSON, as the Lambda receives it from the queue."""
    return [json.dumps(envelope) for envelope in sns_envelopes(count, tag)]


def records(bodies: List[str]) -> List[InboundRecord]:
    # Through SQS, as in Lambda: the processor checks each envelope's topic (ses_guard/provenance.py).
    return [InboundRecord(f"m{n}", body, via=SQS_SOURCE) for n, body in enumerate(bodies)]


def batches(items: list, size: int) -> List[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


# The users table, as an application keeps it. MariaDB: a case-insensitive PAD SPACE collation, so the
# processor's lookup goes through the index; filled by the server's sequence engine (no rows cross the wire).
_MARIADB_USERS = (
    "CREATE TABLE users (user_id BIGINT PRIMARY KEY, email_address VARCHAR(320) COLLATE utf8mb4_unicode_ci "
    "NOT NULL, validated INT NOT NULL DEFAULT 1)",
    f"INSERT INTO users (user_id, email_address) SELECT seq, CONCAT('{USER_PREFIX}', seq, '{USER_DOMAIN}') "  # noqa: S608
    f"FROM seq_1_to_{USERS}",
    "CREATE INDEX ix_users_email_address ON users (email_address)",
)
# SQLite has no case-insensitive PAD SPACE collation: the processor normalizes the column in SQL
# (LOWER(TRIM(email_address))), which an index on that expression serves; filled by a recursive CTE.
_SQLITE_USERS = (
    "CREATE TABLE users (user_id INTEGER PRIMARY KEY, email_address VARCHAR(320) NOT NULL, "
    "validated INTEGER NOT NULL DEFAULT 1)",
    f"INSERT INTO users (user_id, email_address) SELECT n, '{USER_PREFIX}' || n || '{USER_DOMAIN}' FROM "  # noqa: S608
    f"(WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {USERS}) SELECT n FROM seq)",
    "CREATE INDEX ix_users_email_address ON users (email_address)",
    "CREATE INDEX ix_users_email_normalized ON users (lower(trim(email_address)))",
)


class BenchDatabase:
    """A fresh, upgraded database with the production-sized users table; dropped by close()."""

    def __init__(self, kind: str, mysql_url: str, workdir: str) -> None:
        self.kind = kind
        self._server = None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir}/bench-{uuid.uuid4().hex[:8]}.db"
        else:
            self._server = database.build_engine(make_url(mysql_url).set(database=None))
            self.name = f"ses_guard_bench_{uuid.uuid4().hex[:10]}"
            with self._server.begin() as connection:
                connection.execute(text(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4"))
            self.url = make_url(mysql_url).set(database=self.name).render_as_string(hide_password=False)
        engine = self.engine()
        migrate.upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            for statement in _SQLITE_USERS if kind == "sqlite" else _MARIADB_USERS:
                connection.exec_driver_sql(statement)
        if kind == "sqlite":
            with engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")  # statistics, as a long-lived database has them
        self.users_load_seconds = time.perf_counter() - started
        engine.dispose()

    def engine(self) -> Engine:
        return database.build_engine(self.url)

    def close(self) -> None:
        if self._server is not None:
            with self._server.begin() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{self.name}`"))
            self._server.dispose()
