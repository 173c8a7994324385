"""The audit trail of every action the automation takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import List, Optional

from sqlalchemy import Column
from sqlalchemy.engine import Connection

from ses_guard.observability import logger
from ses_guard.schema import automation_audit_log

THRESHOLD_CHANGED = "threshold_changed"
SENDING_DISABLED = "sending_disabled"
# The breaker's alarm fired, but the guard's own records did not back it: sending was left on.
SENDING_DISABLE_REFUSED = "sending_disable_refused"
USER_INVALIDATED = "user_invalidated"
ENFORCEMENT_CHANGED = "enforcement_changed"
SUPPRESSION_ADDED = "suppression_added"
SUPPRESSION_REMOVED = "suppression_removed"
USER_REVALIDATED = "user_revalidated"


@dataclass(frozen=True)
class AuditEntry:
    action: str
    target: str
    reason: str
    before_value: Optional[str] = None
    after_value: Optional[str] = None


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _fit(column: Column, value: str) -> str:
    """Short text cut to its column, as the parser cuts free text: a long name must not fail the action."""
    limit = column.type.length
    if len(value) <= limit:
        return value
    logger.warning(
        "audit text truncated to fit the column", extra={"column": column.name, "length": len(value), "kept": limit}
    )
    return value[:limit]


def record(
    connection: Connection, entries: List[AuditEntry], actor: str, occurred_at: Optional[datetime] = None
) -> None:
    """actor: who acted (settings.actor: the Lambda function, or the operator's CLI)."""
    if not entries:
        return
    when = occurred_at or utcnow()
    connection.execute(
        automation_audit_log.insert(),
        [
            {
                "occurred_at": when,
                "action": _fit(automation_audit_log.c.action, entry.action),
                "target": _fit(automation_audit_log.c.target, entry.target),
                "reason": entry.reason,
                "before_value": entry.before_value,
                "after_value": entry.after_value,
                "actor": _fit(automation_audit_log.c.actor, actor),
            }
            for entry in entries
        ],
    )
