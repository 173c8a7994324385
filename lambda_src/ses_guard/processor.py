"""The event processor: parse every record, store the batch once, report per-record failures."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from aws_lambda_powertools.metrics import MetricUnit

from ses_guard import database, provenance
from ses_guard.observability import logger, metrics
from ses_guard.parsing import InboundRecord, InvalidRecord, RecipientEvent, Skipped, inbound_records, parse_record
from ses_guard.settings import get_settings
from ses_guard.store import EventStore, StoreResult

NOT_REGISTERED_METRIC = "EmailNotRegisteredCount"
FOREIGN_METRIC = "ForeignRecordsDropped"

_store: Optional[EventStore] = None


def get_store() -> EventStore:
    global _store
    if _store is None or _store.engine is not database.get_engine():
        _store = EventStore(database.get_engine(), get_settings().users)
    return _store


@dataclass
class BatchOutcome:
    records: int = 0
    events: List[RecipientEvent] = field(default_factory=list)
    skipped: Dict[str, int] = field(default_factory=Counter)
    failed_record_ids: List[Optional[str]] = field(default_factory=list)
    dropped: int = 0  # records not from SES of this account through the events topic (provenance.py)
    stored: StoreResult = field(default_factory=StoreResult)

    def batch_item_failures(self) -> Dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in self.failed_record_ids]}


def process(
    records: Sequence[InboundRecord], store: EventStore, source: Optional[provenance.Source] = None
) -> BatchOutcome:
    """Store what every valid record says; invalid records are listed, never stored, never block the rest.

    Records that did not come from `source` (default: the settings' EVENTS_TOPIC_ARN and SENDING_ACCOUNT_ID)
    are dropped with a log line: neither stored nor retried, since no retry makes them genuine.

    A database error is raised: the whole batch is then redelivered, and the unique keys make the retry
    add only what is missing.
    """
    outcome = BatchOutcome(records=len(records))
    source = source or provenance.Source.of(get_settings())
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
            "new_unvalidated_email_log_rows": outcome.stored.unvalidated_rows,
            "new_unregistered_recipients": outcome.stored.new_unregistered_pairs,
        },
    )
    return outcome


def handle_lambda_event(event: Any, store: EventStore, source: provenance.Source) -> Dict[str, Any]:
    """Process an SNS- or SQS-triggered event and answer the way its trigger expects."""
    records = inbound_records(event)
    outcome = process(records, store, source)
    # Published even when zero, so the alarm sees data rather than a gap.
    metrics.add_metric(name=NOT_REGISTERED_METRIC, unit=MetricUnit.Count, value=outcome.stored.new_unregistered_pairs)
    if outcome.dropped:
        metrics.add_metric(name=FOREIGN_METRIC, unit=MetricUnit.Count, value=outcome.dropped)
    if any(isinstance(record, dict) and record.get("eventSource") == "aws:sqs" for record in event["Records"]):
        return outcome.batch_item_failures()
    if outcome.failed_record_ids:
        # SNS invokes asynchronously: raising lets Lambda's retries and failure destination keep the record.
        raise InvalidRecord(f"{len(outcome.failed_record_ids)} SNS record(s) rejected; see the log")
    return {"recipient_events": len(outcome.events)}
