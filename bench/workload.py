"""The benchmark's input: SQS records as the event processor receives them, and their databases."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import List

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from ses_guard import database, migrate
from ses_guard.parsing import InboundRecord
from ses_guard.settings import UsersTable
from tests import ses_samples as ses

USERS = ("user1@example.com", "user2@example.com", "user3@example.com")


def sqs_bodies(count: int, tag: str) -> List[str]:
    """`count` distinct SES Delivery events, one recipient each (3 in 10 to users), as SQS bodies.

    Each body is what SNS puts on the queue: an envelope around the SES JSON, as the Lambda receives it.
    """
    base = datetime(2026, 11, 1)
    bodies = []
    for n in range(count):
        recipient = USERS[n % 3] if n % 10 < 3 else f"stranger-{tag}-{n}@elsewhere.test"
        message = ses.notification(
            "Delivery",
            [recipient],
            message_id=f"0100018c-{tag}-{n:07d}-000000",
            sent=base + timedelta(seconds=n),
            subject=f"Your weekly summary #{n}",
        )
        bodies.append(json.dumps(ses.sns_envelope(message, message_id=str(uuid.uuid4()))))
    return bodies


def records(bodies: List[str]) -> List[InboundRecord]:
    return [InboundRecord(f"m{n}", body) for n, body in enumerate(bodies)]


def batches(items: list, size: int) -> List[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class BenchDatabase:
    """A fresh, upgraded database with the seed's three users; dropped by close()."""

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
        migrate.init_demo_users(engine, UsersTable())
        engine.dispose()

    def engine(self) -> Engine:
        return database.build_engine(self.url)

    def close(self) -> None:
        if self._server is not None:
            with self._server.begin() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{self.name}`"))
            self._server.dispose()
