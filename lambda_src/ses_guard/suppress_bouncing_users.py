"""suppress-bouncing-users, the bounce and complaint hygiene: stop mailing users whose addresses keep bouncing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.engine import Engine

from ses_guard import audit, schema, suppression
from ses_guard.addresses import normalize_address
from ses_guard.observability import logger
from ses_guard.settings import SuppressBouncingUsersSettings


@dataclass(frozen=True)
class Invalidation:
    user_id: int
    email_address: str
    bounces: int
    complaints: int
    reason: str


def _reason(bounces: int, complaints: int, settings: SuppressBouncingUsersSettings) -> str:
    parts = []
    if bounces >= settings.bounce_threshold:
        parts.append(f"{bounces} bounces ({'/'.join(settings.bounce_types)})")
    if complaints and settings.invalidate_on_complaint:
        parts.append(f"{complaints} complaint(s)")
    return f"{' and '.join(parts)} in the last {settings.window_days} days"


# A complaint whose feedback type says the mail is NOT spam is no reason to stop mailing. Reports without a
# type count: many mailbox providers send none.
NOT_A_COMPLAINT_FEEDBACK_TYPES = ("not-spam",)


def find_offenders(engine: Engine, settings: SuppressBouncingUsersSettings, now: datetime) -> List[Invalidation]:
    """Validated users with enough bounces (or a complaint, if so configured) within the window.

    Only events sent to the user's current address count: a user who moved to a working address and was
    validated again is not invalidated again by the old address's bounces. Addresses are compared by the
    one matching rule (addresses.normalize_address), applied in Python: SQL's LOWER folds fewer letters.
    """
    log = schema.user_email_log
    since = now - timedelta(days=settings.window_days)
    # SES sometimes reports a permanent failure as Transient: the server's own 5.x.x code makes it Permanent.
    bounce_type = case((log.c.enhanced_status_code.like("5.%"), "Permanent"), else_=log.c.bounce_type)
    is_bounce = and_(log.c.status == "Bounce", bounce_type.in_(settings.bounce_types))
    is_complaint = and_(
        log.c.status == "Complaint",
        or_(
            log.c.complaint_feedback_type.is_(None),
            log.c.complaint_feedback_type.not_in(NOT_A_COMPLAINT_FEEDBACK_TYPES),
        ),
    )
    counts_by_address = (
        select(
            log.c.user_id,
            log.c.destination_address,
            func.sum(case((is_bounce, 1), else_=0)),
            func.sum(case((is_complaint, 1), else_=0)),
        )
        .where(log.c.timestamp >= since, log.c.status.in_(("Bounce", "Complaint")))
        .group_by(log.c.user_id, log.c.destination_address)
    )
    users = schema.users_table(settings.users)
    user_id = users.c[settings.users.id_column]
    email = users.c[settings.users.email_column]
    validated = users.c[settings.users.validated_column]
    with engine.connect() as connection:
        counts: Dict[Tuple[int, str], List[int]] = {}
        for uid, address, bounce_count, complaint_count in connection.execute(counts_by_address):
            totals = counts.setdefault((uid, normalize_address(address)), [0, 0])
            totals[0] += int(bounce_count or 0)
            totals[1] += int(complaint_count or 0)
        counts = {key: totals for key, totals in counts.items() if _offends(*totals, settings)}
        # Paired in Python, not joined in SQL: the application's users table may have another collation
        # than the log, and MySQL refuses to compare columns of two collations.
        candidates = (
            connection.execute(
                select(user_id, email)
                .where(user_id.in_(sorted({uid for uid, _ in counts})), validated != 0)
                .order_by(user_id)
            ).all()
            if counts
            else []
        )
    offenders = []
    for uid, address in candidates:
        key = (uid, normalize_address(address)) if address is not None else None
        if key in counts:
            bounce_count, complaint_count = counts[key]
            reason = _reason(bounce_count, complaint_count, settings)
            offenders.append(Invalidation(uid, address, bounce_count, complaint_count, reason))
    return offenders


def _offends(bounces: int, complaints: int, settings: SuppressBouncingUsersSettings) -> bool:
    return bounces >= settings.bounce_threshold or (settings.invalidate_on_complaint and complaints > 0)


def run(
    engine: Engine,
    settings: SuppressBouncingUsersSettings,
    dry_run: bool = False,
    now: Optional[datetime] = None,
    sesv2: Any = None,
) -> List[Invalidation]:
    """Set validated = 0 for each offender (unless dry_run) and audit it; returns who changed (or would).

    With sync_suppression_list, the changed addresses also go on the SES suppression list (sesv2: the client).
    """
    now = now or audit.utcnow()
    offenders = find_offenders(engine, settings, now)
    if offenders and not dry_run:
        users = schema.users_table(settings.users)
        user_id = users.c[settings.users.id_column]
        email = users.c[settings.users.email_column]
        validated = users.c[settings.users.validated_column]
        with engine.begin() as connection:
            # Checked again, and locked until the update: a user fixed meanwhile (no longer validated, or
            # moved to another address, whose bounces were not counted) is not touched.
            current: Dict[int, Tuple[int, str]] = {
                uid: (flag, address)
                for uid, flag, address in connection.execute(
                    select(user_id, validated, email)
                    .where(user_id.in_([o.user_id for o in offenders]), validated != 0)
                    .with_for_update()
                )
            }
            changed = [
                o
                for o in offenders
                if o.user_id in current
                # An address erased meanwhile (None) is not the one whose bounces were counted.
                and current[o.user_id][1] is not None
                and normalize_address(current[o.user_id][1]) == normalize_address(o.email_address)
            ]
            if changed:
                connection.execute(
                    update(users).where(user_id.in_([o.user_id for o in changed])).values({validated.key: 0})
                )
            audit.record(
                connection,
                [
                    audit.AuditEntry(
                        audit.USER_INVALIDATED,
                        # The address goes in the reason: with it the target could outgrow its column.
                        f"user:{o.user_id}",
                        f"{o.email_address}: {o.reason}",
                        f"validated={current[o.user_id][0]}",
                        "validated=0",
                    )
                    for o in changed
                ],
                settings.actor,
                occurred_at=now,
            )
        offenders = changed
    logger.info("hygiene run", extra={"dry_run": dry_run, "invalidated_user_ids": [o.user_id for o in offenders]})
    if settings.sync_suppression_list and offenders and not dry_run:
        if sesv2 is None:
            raise ValueError("hygiene with sync_suppression_list needs the sesv2 client")
        suppression.suppress(engine, offenders, sesv2, settings.actor, now)
    return offenders
