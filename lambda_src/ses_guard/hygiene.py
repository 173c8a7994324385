"""Bounce and complaint hygiene: stop mailing users whose addresses keep bouncing (the seed's Scenario 2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.engine import Engine

from ses_guard import audit, schema
from ses_guard.observability import logger
from ses_guard.settings import Settings


@dataclass(frozen=True)
class Invalidation:
    user_id: int
    email_address: str
    bounces: int
    complaints: int
    reason: str


def _reason(bounces: int, complaints: int, settings: Settings) -> str:
    parts = []
    if bounces >= settings.hygiene_bounce_threshold:
        parts.append(f"{bounces} bounces ({'/'.join(settings.hygiene_bounce_types)})")
    if complaints and settings.hygiene_invalidate_on_complaint:
        parts.append(f"{complaints} complaint(s)")
    return f"{' and '.join(parts)} in the last {settings.hygiene_window_days} days"


def find_offenders(engine: Engine, settings: Settings, now: datetime) -> List[Invalidation]:
    """Validated users with enough bounces (or a complaint, if so configured) within the window."""
    log = schema.user_email_log
    since = now - timedelta(days=settings.hygiene_window_days)
    is_bounce = and_(log.c.status == "Bounce", log.c.bounce_type.in_(settings.hygiene_bounce_types))
    counts = (
        select(
            log.c.user_id,
            func.sum(case((is_bounce, 1), else_=0)).label("bounces"),
            func.sum(case((log.c.status == "Complaint", 1), else_=0)).label("complaints"),
        )
        .where(log.c.timestamp >= since, log.c.status.in_(("Bounce", "Complaint")))
        .group_by(log.c.user_id)
        .subquery()
    )
    users = schema.users_table(settings.users)
    user_id = users.c[settings.users.id_column]
    validated = users.c[settings.users.validated_column]
    offending = counts.c.bounces >= settings.hygiene_bounce_threshold
    if settings.hygiene_invalidate_on_complaint:
        offending = offending | (counts.c.complaints > 0)
    query = (
        select(user_id, users.c[settings.users.email_column], counts.c.bounces, counts.c.complaints)
        .join(counts, counts.c.user_id == user_id)
        .where(offending, validated != 0)
        .order_by(user_id)
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    return [
        Invalidation(
            uid,
            email,
            int(bounces or 0),
            int(complaints or 0),
            _reason(int(bounces or 0), int(complaints or 0), settings),
        )
        for uid, email, bounces, complaints in rows
    ]


def run(
    engine: Engine, settings: Settings, dry_run: bool = False, now: Optional[datetime] = None
) -> List[Invalidation]:
    """Set validated = 0 for each offender (unless dry_run) and audit it; returns who changed (or would)."""
    now = now or audit.utcnow()
    offenders = find_offenders(engine, settings, now)
    if offenders and not dry_run:
        users = schema.users_table(settings.users)
        user_id = users.c[settings.users.id_column]
        validated = users.c[settings.users.validated_column]
        with engine.begin() as connection:
            # validated != 0 again here: a user fixed meanwhile is not touched.
            before: Dict[int, int] = dict(
                connection.execute(
                    select(user_id, validated).where(user_id.in_([o.user_id for o in offenders]), validated != 0)
                ).all()
            )
            changed = [o for o in offenders if o.user_id in before]
            connection.execute(
                update(users).where(user_id.in_([o.user_id for o in changed])).values({validated.key: 0})
            )
            audit.record(
                connection,
                [
                    audit.AuditEntry(
                        audit.USER_INVALIDATED,
                        f"user:{o.user_id} <{o.email_address}>",
                        o.reason,
                        f"validated={before[o.user_id]}",
                        "validated=0",
                    )
                    for o in changed
                ],
                occurred_at=now,
            )
        offenders = changed
    logger.info("hygiene run", extra={"dry_run": dry_run, "invalidated_user_ids": [o.user_id for o in offenders]})
    return offenders
