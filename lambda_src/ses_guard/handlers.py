"""Lambda entry points: decorators and one call each."""

from __future__ import annotations

from typing import Any, Dict

from aws_lambda_powertools.metrics import MetricUnit

from ses_guard import parsing, processor
from ses_guard.observability import logger, metrics
from ses_guard.parsing import InvalidRecord

NOT_REGISTERED_METRIC = "EmailNotRegisteredCount"


@metrics.log_metrics
@logger.inject_lambda_context
def process_events(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """SNS- or SQS-triggered: log every recipient of every SES event, count mail to non-users."""
    records = parsing.inbound_records(event)
    outcome = processor.process(records, processor.get_store())
    metrics.add_metric(name=NOT_REGISTERED_METRIC, unit=MetricUnit.Count, value=outcome.stored.new_unregistered_pairs)
    if any(record.get("eventSource") == "aws:sqs" for record in event["Records"]):
        return outcome.batch_item_failures()
    if outcome.failed_record_ids:
        # SNS invokes asynchronously: raising lets Lambda's retry and failure destination keep the record.
        raise InvalidRecord(f"{len(outcome.failed_record_ids)} SNS record(s) rejected; see the log")
    return {"recipient_events": len(outcome.events)}
