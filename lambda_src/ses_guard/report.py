"""`ses-guard report`: what an on-call reads first in an incident, from the log tables (read only).

Who is mailing unregistered recipients right now (by source IP, caller identity and source ARN), who is bouncing or
complaining, and how many events of each status arrived, over the last N hours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from ses_guard import audit, schema
from ses_guard.settings import UsersTable


@dataclass(frozen=True)
class StatusCount:
    table: str
    status: str
    events: int


@dataclass(frozen=True)
class UnregisteredSource:
    """Mail to unregistered recipients (not users) from one source (IP, caller identity, sending identity ARN)."""

    source_ip: Optional[str]
    caller_identity: Optional[str]
    source_arn: Optional[str]
    events: int
    recipients: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class TroubledUser:
    user_id: int
    email_address: Optional[str]
    bounces: int
    complaints: int
    last_seen: datetime


DEPRECATED_SOURCES_KEY = "stranger_sources"


@dataclass
class Report:
    hours: int
    since: datetime
    until: datetime
    statuses: List[StatusCount] = field(default_factory=list)
    unregistered_sources: List[UnregisteredSource] = field(default_factory=list)
    troubled_users: List[TroubledUser] = field(default_factory=list)

    def as_dict(self) -> Dict[str, Any]:
        data = asdict(self)
        # Deprecated: the first name of unregistered_sources in `report --json`, kept for the scripts that read it.
        data[DEPRECATED_SOURCES_KEY] = data["unregistered_sources"]
        return data


def build(engine: Engine, users: UsersTable, hours: int = 24, top: int = 10, now: Optional[datetime] = None) -> Report:
    until = now or audit.utcnow()
    since = until - timedelta(hours=hours)
    report = Report(hours=hours, since=since, until=until)
    known = schema.user_email_log
    unregistered = schema.unvalidated_email_log
    with engine.connect() as connection:
        for table in (known, unregistered):
            rows = connection.execute(
                select(table.c.status, func.count())
                .where(table.c.timestamp >= since)
                .group_by(table.c.status)
                .order_by(func.count().desc(), table.c.status)
            )
            report.statuses += [StatusCount(table.name, status, count) for status, count in rows]

        events = func.count()
        source = (unregistered.c.source_ip, unregistered.c.caller_identity, unregistered.c.source_arn)
        rows = connection.execute(
            select(
                *source,
                events,
                func.count(unregistered.c.destination_address.distinct()),
                func.min(unregistered.c.timestamp),
                func.max(unregistered.c.timestamp),
            )
            .where(unregistered.c.timestamp >= since)
            .group_by(*source)
            .order_by(events.desc(), *source)
            .limit(top)
        )
        report.unregistered_sources = [UnregisteredSource(*row) for row in rows]

        bounces = func.sum(case((known.c.status == "Bounce", 1), else_=0))
        complaints = func.sum(case((known.c.status == "Complaint", 1), else_=0))
        rows = connection.execute(
            select(known.c.user_id, bounces, complaints, func.max(known.c.timestamp))
            .where(known.c.timestamp >= since, known.c.status.in_(("Bounce", "Complaint")))
            .group_by(known.c.user_id)
            .order_by((bounces + complaints).desc(), known.c.user_id)
            .limit(top)
        )
        counts = [(user_id, int(b), int(c), last) for user_id, b, c, last in rows]
        # Addresses read separately, not joined: the application's table may use another collation than the log.
        addresses = _addresses(connection, users, [user_id for user_id, *_ in counts])
    report.troubled_users = [TroubledUser(uid, addresses.get(uid), b, c, last) for uid, b, c, last in counts]
    return report


def _addresses(connection, config: UsersTable, user_ids: List[int]) -> Dict[int, str]:
    if not user_ids:
        return {}
    users = schema.users_table(config)
    user_id, email = users.c[config.id_column], users.c[config.email_column]
    return dict(connection.execute(select(user_id, email).where(user_id.in_(user_ids))).all())


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def format_table(headers: List[str], rows: List[List[Any]], indent: str = "  ") -> List[str]:
    """Left-aligned columns under a header row; None shows as '-'."""
    cells = [headers] + [["-" if value is None else str(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [indent + "  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in cells]


def render(report: Report) -> str:
    """The report as a person reads it: three tables with headers."""
    lines = [f"ses-guard report: the last {report.hours} h ({_time(report.since)} to {_time(report.until)} UTC)", ""]
    lines.append("Events by status")
    if report.statuses:
        lines += format_table(["table", "status", "events"], [[s.table, s.status, s.events] for s in report.statuses])
    else:
        lines.append("  (no events)")
    lines += ["", "Unregistered recipients (not users), by source (EmailNotRegisteredCount)"]
    if report.unregistered_sources:
        lines += format_table(
            ["source IP", "caller identity", "source ARN", "events", "recipients", "first seen", "last seen"],
            [
                [
                    s.source_ip,
                    s.caller_identity,
                    s.source_arn,
                    s.events,
                    s.recipients,
                    _time(s.first_seen),
                    _time(s.last_seen),
                ]
                for s in report.unregistered_sources
            ],
        )
    else:
        lines.append("  (none)")
    lines += ["", "Users with the most bounces and complaints"]
    if report.troubled_users:
        lines += format_table(
            ["user id", "email address", "bounces", "complaints", "last seen"],
            [[u.user_id, u.email_address, u.bounces, u.complaints, _time(u.last_seen)] for u in report.troubled_users],
        )
    else:
        lines.append("  (none)")
    return "\n".join(lines)
