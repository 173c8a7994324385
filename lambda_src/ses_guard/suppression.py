"""The SES account suppression list, two-way: hygiene's invalidations added to it (opt-in), where it and the
application disagree, and the operator's way to give an address a second chance.

SES's list stops mail to an address from every sender of the account, leaked credentials included; the
application's validated column only stops the application.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Tuple

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ses_guard import audit, schema
from ses_guard.addresses import candidate_key, normalize_address
from ses_guard.observability import logger
from ses_guard.settings import UsersTable

BOUNCE = "BOUNCE"
COMPLAINT = "COMPLAINT"
PAGE_SIZE = 1000  # the most ListSuppressedDestinations returns at once
SUPPRESSION_LIST = "ses-suppression-list"
USERS_READ_BATCH = 10_000


@dataclass(frozen=True)
class Suppressed:
    email_address: str
    reason: str
    last_update_time: datetime


@dataclass(frozen=True)
class Disagreement:
    """An address the application and SES see differently, with the reason and date of the side that acted."""

    email_address: str
    user_id: Optional[int]
    reason: Optional[str]
    since: Optional[datetime]


@dataclass
class SuppressionDiff:
    invalidated_not_suppressed: List[Disagreement] = field(default_factory=list)
    suppressed_still_valid: List[Disagreement] = field(default_factory=list)
    suppressed_total: int = 0
    pages: int = 0

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Removal:
    email_address: str
    removed_from_ses: bool
    revalidated_user_ids: Tuple[int, ...] = ()


def reason_for(bounces: int, complaints: int) -> str:
    """SES's reason for an address hygiene invalidated: a complaint is the stronger signal."""
    return COMPLAINT if complaints else BOUNCE


def suppress(
    engine: Engine, invalidations: Iterable[Any], sesv2: Any, actor: str, now: Optional[datetime] = None
) -> int:
    """Put each invalidated user's address on the account suppression list, and audit each one added.

    invalidations: hygiene.Invalidation (user_id, email_address, bounces, complaints, reason). A failed call does
    not stop the others; the first failure is raised after the successes are recorded.
    """
    entries: List[audit.AuditEntry] = []
    failures: List[Exception] = []
    for invalidation in invalidations:
        reason = reason_for(invalidation.bounces, invalidation.complaints)
        address = invalidation.email_address.strip()
        try:
            sesv2.put_suppressed_destination(EmailAddress=address, Reason=reason)
        except Exception as error:
            logger.exception("address not added to the suppression list", extra={"user_id": invalidation.user_id})
            failures.append(error)
            continue
        entries.append(
            audit.AuditEntry(
                audit.SUPPRESSION_ADDED,
                f"user:{invalidation.user_id}",
                f"{address}: {invalidation.reason}",
                None,
                f"suppressed ({reason})",
            )
        )
    with engine.begin() as connection:
        audit.record(connection, entries, actor, occurred_at=now)
    logger.info("suppression list synced", extra={"added": len(entries), "failed": len(failures)})
    if failures:
        raise failures[0]
    return len(entries)


def list_suppressed(sesv2: Any) -> Tuple[Dict[str, Suppressed], int]:
    """The whole account suppression list keyed by normalized address, and how many pages it took."""
    suppressed: Dict[str, Suppressed] = {}
    pages = 0
    request: Dict[str, Any] = {"PageSize": PAGE_SIZE}
    while True:
        page = sesv2.list_suppressed_destinations(**request)
        pages += 1
        for entry in page.get("SuppressedDestinationSummaries", []):
            when = entry["LastUpdateTime"]
            if when.tzinfo is not None:
                when = when.astimezone(timezone.utc).replace(tzinfo=None)
            suppressed[normalize_address(entry["EmailAddress"])] = Suppressed(
                entry["EmailAddress"], entry["Reason"], when
            )
        if not page.get("NextToken"):
            return suppressed, pages
        request["NextToken"] = page["NextToken"]


def _last_invalidations(engine: Engine) -> Dict[int, Tuple[str, datetime]]:
    """user id -> (reason, when) of hygiene's last invalidation of that user."""
    log = schema.automation_audit_log
    found: Dict[int, Tuple[str, datetime]] = {}
    with engine.connect() as connection:
        rows = connection.execute(
            select(log.c.target, log.c.reason, log.c.occurred_at)
            .where(log.c.action == audit.USER_INVALIDATED)
            .order_by(log.c.audit_id)
        )
        for target, reason, occurred_at in rows:
            user_id = target.partition(":")[2]
            if user_id.isdigit():
                found[int(user_id)] = (reason.partition(": ")[2] or reason, occurred_at)
    return found


def diff(engine: Engine, users_config: UsersTable, sesv2: Any) -> SuppressionDiff:
    """Where the application's validated column and SES's suppression list disagree.

    The users table is read once, in batches; the suppression list is held in memory (about 200 bytes an
    address: 100 MB for 500,000).
    """
    suppressed, pages = list_suppressed(sesv2)
    result = SuppressionDiff(suppressed_total=len(suppressed), pages=pages)
    invalidations = _last_invalidations(engine)
    users = schema.users_table(users_config)
    user_id = users.c[users_config.id_column]
    email = users.c[users_config.email_column]
    validated = users.c[users_config.validated_column]
    with engine.connect() as connection:
        rows = connection.execution_options(yield_per=USERS_READ_BATCH).execute(
            select(user_id, email, validated).where(email.isnot(None)).order_by(user_id)
        )
        for uid, address, flag in rows:
            entry = suppressed.get(normalize_address(address))
            if not flag and entry is None:
                reason, since = invalidations.get(uid, (None, None))
                result.invalidated_not_suppressed.append(Disagreement(address, uid, reason, since))
            elif flag and entry is not None:
                result.suppressed_still_valid.append(
                    Disagreement(entry.email_address, uid, entry.reason, entry.last_update_time)
                )
    return result


def render_diff(result: SuppressionDiff) -> str:
    def rows(items: List[Disagreement]) -> List[str]:
        return [
            f"  {item.user_id:>8}  {item.email_address:<40} {item.since or '(no date)'}  {item.reason or '(no reason)'}"
            for item in items
        ] or ["  (none)"]

    return "\n".join(
        [
            f"SES suppression list: {result.suppressed_total} address(es) ({result.pages} page(s))",
            f"invalidated in the application, not suppressed by SES: {len(result.invalidated_not_suppressed)}",
            *rows(result.invalidated_not_suppressed),
            f"suppressed by SES, still valid in the application: {len(result.suppressed_still_valid)}",
            *rows(result.suppressed_still_valid),
        ]
    )


def remove(engine: Engine, users_config: UsersTable, sesv2: Any, address: str, revalidate: bool, actor: str) -> Removal:
    """Take an address off SES's list and, with revalidate, set its users' validated column back to 1.

    Each step is audited; an address SES does not hold is not an error (the revalidation may still be wanted).
    """
    address = address.strip()
    try:
        sesv2.delete_suppressed_destination(EmailAddress=address)
        removed = True
    except Exception as error:  # botocore's ClientError, not imported: botocore is slow to import at cold start
        if getattr(error, "response", {}).get("Error", {}).get("Code") != "NotFoundException":
            raise
        removed = False
    revalidated: List[int] = []
    with engine.begin() as connection:
        entries = []
        if removed:
            entries.append(
                audit.AuditEntry(audit.SUPPRESSION_REMOVED, SUPPRESSION_LIST, f"{address}: removed by the operator")
            )
        if revalidate:
            users = schema.users_table(users_config)
            user_id = users.c[users_config.id_column]
            email = users.c[users_config.email_column]
            validated = users.c[users_config.validated_column]
            key = normalize_address(address)
            candidates = connection.execute(
                select(user_id, email)
                .where(candidate_key(email, connection.dialect) == key, validated == 0)
                .with_for_update()
            )
            revalidated = [uid for uid, stored in candidates if normalize_address(stored) == key]
            if revalidated:
                connection.execute(update(users).where(user_id.in_(revalidated)).values({validated.key: 1}))
            entries += [
                audit.AuditEntry(
                    audit.USER_REVALIDATED,
                    f"user:{uid}",
                    f"{address}: revalidated by the operator (suppression remove --revalidate)",
                    "validated=0",
                    "validated=1",
                )
                for uid in revalidated
            ]
        audit.record(connection, entries, actor)
    return Removal(address, removed, tuple(revalidated))
