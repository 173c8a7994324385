"""Lambda's event shapes and replies: for the event processor, which trigger sent an event (SQS or SNS), its
records, the metrics of the batch and the reply that trigger expects; for the breaker, its SNS messages.

The trigger is the event's, decided once (the first record that names its source): every record is read as that trigger
delivers them, so a record of another shape among them (a forgery) is dropped as foreign by provenance.py
and cannot change the reply.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from aws_lambda_powertools.metrics import MetricUnit

from ses_guard import disable_sending, processor, provenance
from ses_guard.observability import FOREIGN_METRIC, NOT_REGISTERED_METRIC, metrics
from ses_guard.parsing import SNS_SOURCE, SQS_SOURCE, InboundRecord, InvalidRecord
from ses_guard.store import EventStore


def trigger(event: Any) -> Optional[str]:
    """SQS_SOURCE or SNS_SOURCE, as the first record that names its source says; None for an event no trigger
    made (a file of bare notifications). ValueError when it is not a Lambda event at all."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise ValueError("not an SNS or SQS Lambda event: no Records list")
    for record in event["Records"]:
        if isinstance(record, dict) and record.get("eventSource") == SQS_SOURCE:
            return SQS_SOURCE
        if isinstance(record, dict) and record.get("EventSource") == SNS_SOURCE:
            return SNS_SOURCE
    return None


def inbound_records(event: Any) -> List[InboundRecord]:
    """The records of an SNS- or SQS-triggered Lambda event, each read as its trigger delivers them."""
    via = trigger(event)
    records = []
    for raw in event["Records"]:
        raw = raw if isinstance(raw, dict) else {}
        if via == SQS_SOURCE:
            records.append(InboundRecord(record_id=raw.get("messageId"), payload=raw.get("body"), via=via))
        elif via == SNS_SOURCE:
            sns = raw.get("Sns") if isinstance(raw.get("Sns"), dict) else {}
            envelope = {key: sns.get(key) for key in ("Type", "MessageId", "TopicArn", "Message")}
            records.append(InboundRecord(record_id=sns.get("MessageId"), payload=envelope, via=via))
        else:
            records.append(InboundRecord(record_id=raw.get("messageId"), payload=raw))
    return records


def process_event(event: Any, store: EventStore, source: provenance.Source) -> Dict[str, Any]:
    """Process an SNS- or SQS-triggered event, count it in the metrics, and answer the way its trigger expects:
    SQS with the records to retry (batchItemFailures); SNS by raising when a record was rejected."""
    outcome = processor.process(inbound_records(event), store, source)
    # Published even when zero, so the alarm sees data rather than a gap.
    metrics.add_metric(name=NOT_REGISTERED_METRIC, unit=MetricUnit.Count, value=outcome.stored.new_unregistered_pairs)
    if outcome.dropped:
        metrics.add_metric(name=FOREIGN_METRIC, unit=MetricUnit.Count, value=outcome.dropped)
    if trigger(event) == SQS_SOURCE:
        return {"batchItemFailures": [{"itemIdentifier": record_id} for record_id in outcome.failed_record_ids]}
    if outcome.failed_record_ids:
        # SNS invokes asynchronously: raising lets Lambda's retries and failure destination keep the record.
        raise InvalidRecord(f"{len(outcome.failed_record_ids)} SNS record(s) rejected; see the log")
    return {"recipient_events": len(outcome.events)}


def sns_messages(event: Any) -> Optional[List[disable_sending.SnsMessage]]:
    """The messages of an SNS-triggered event (the breaker's); None when the event is not one."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        return None
    messages = []
    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        sns = sns if isinstance(sns, dict) else {}
        messages.append(disable_sending.SnsMessage(topic_arn=sns.get("TopicArn"), message=sns.get("Message")))
    return messages
