"""The event processor: parse every record, store the batch once, report per-record failures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from ses_guard import provenance
from ses_guard.observability import logger
from ses_guard.parsing import InboundRecord, InvalidRecord, RecipientEvent, Skipped, parse_record
from ses_guard.store import EventStore, StoreResult


@dataclass
class BatchOutcome:
    records: int = 0
    events: List[RecipientEvent] = field(default_factory=list)
    skipped: Dict[str, int] = field(default_factory=Counter)
    failed_record_ids: List[Optional[str]] = field(default_factory=list)
    dropped: int = 0  # records not from SES of this account through the events topic (provenance.py)
    stored: StoreResult = field(default_factory=StoreResult)


def process(records: Sequence[InboundRecord], store: EventStore, source: provenance.Source) -> BatchOutcome:
    """Store what every valid record says; invalid records are listed, never stored, never block the rest.

    Records that did not come from `source` (provenance.Source.of the settings) are dropped with a log line:
    neither stored nor retried, since no retry makes them genuine.

    A database error is raised: the whole batch is then redelivered, and the unique keys make the retry
    add only what is missing.
    """
    outcome = BatchOutcome(records=len(records))
    for record in records:
        try:
            parsed = parse_record(provenance.admit(record, source))
            provenance.check_account(parsed, source)
        except provenance.Foreign as error:
            logger.warning(
                "record dropped: not from SES of this account through the events topic",
                extra={"record_id": record.record_id, "reason": str(error)},
            )
            outcome.dropped += 1
            continue
        except InvalidRecord as error:
            logger.error("record rejected", extra={"record_id": record.record_id, "reason": str(error)})
            outcome.failed_record_ids.append(record.record_id)
            continue
        if isinstance(parsed, Skipped):
            logger.info("record skipped", extra={"record_id": record.record_id, "reason": parsed.reason})
            outcome.skipped[parsed.reason] += 1
        else:
            outcome.events.extend(parsed)
    outcome.stored = store.save(outcome.events)
    logger.info(
        "batch stored",
        extra={
            "records": outcome.records,
            "recipient_events": len(outcome.events),
            "skipped": sum(outcome.skipped.values()),
            "failed": len(outcome.failed_record_ids),
            "dropped": outcome.dropped,
            "new_user_email_log_rows": outcome.stored.user_rows,
            "new_unvalidated_email_log_rows": outcome.stored.unregistered_rows,
            "new_unregistered_recipients": outcome.stored.new_unregistered_pairs,
        },
    )
    return outcome
