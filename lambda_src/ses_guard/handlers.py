"""Lambda entry points: decorators and one call each."""

from __future__ import annotations

from typing import Any, Dict

from ses_guard import processor
from ses_guard.observability import logger, metrics


@metrics.log_metrics
@logger.inject_lambda_context
def process_events(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """SNS- or SQS-triggered: log every recipient of every SES event, count mail to non-users."""
    return processor.handle_lambda_event(event, processor.get_store())
