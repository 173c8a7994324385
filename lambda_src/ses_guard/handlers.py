"""Lambda entry points: decorators and one call each."""

from __future__ import annotations

import functools
from dataclasses import asdict
from typing import Any, Callable, Dict

from ses_guard import aws, breaker, database, enforcement, hygiene, processor, provenance, thresholds
from ses_guard.observability import logger, metrics
from ses_guard.settings import get_settings

Handler = Callable[[Dict[str, Any], Any], Dict[str, Any]]


def _ends_in_time_with_a_reason(handler: Handler) -> Handler:
    """The database waits of the invocation end before its timeout (the context's remaining time), and a
    failure ends with one log line naming its cause, then raises (so that Lambda or SQS retries)."""

    @functools.wraps(handler)
    def bounded(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        with database.deadline(remaining() / 1000.0 if remaining else None):
            try:
                return handler(event, context)
            except Exception as error:
                logger.error("invocation failed", extra={"cause": database.describe_failure(error)})
                raise

    return bounded


@metrics.log_metrics
@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def process_events(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """SNS- or SQS-triggered: log every recipient of every SES event, count mail to non-users."""
    account_id = provenance.Home.of_arn(context.invoked_function_arn).account_id
    return processor.handle_lambda_event(event, processor.get_store(), provenance.Source.of(get_settings(), account_id))


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def sync_thresholds(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Scheduled: move the send-count alarms' thresholds to their share of the SES quota."""
    report = thresholds.sync(
        get_settings(), aws.client("ses"), aws.client("cloudwatch"), aws.client("sns"), database.get_engine()
    )
    return {
        "max_24_hour_send": report.max_24_hour_send,
        "quota_is_unlimited": report.quota_is_unlimited,
        "changes": [asdict(c) for c in report.changes],
    }


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def disable_sending(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Subscribed to the critical alert topic: the breaker (see ses_guard.breaker)."""
    home = provenance.Home.of_arn(context.invoked_function_arn)
    clients = {name: aws.client(name) for name in ("ses", "sns", "cloudwatch")}
    outcome = breaker.handle(event, get_settings(), home, clients, database.get_engine())
    return asdict(outcome)


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def suppress_bouncing_users(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Scheduled: set validated = 0 for users who keep bouncing or complained."""
    invalidated = hygiene.run(database.get_engine(), get_settings())
    return {"invalidated": [asdict(user) for user in invalidated]}


@logger.inject_lambda_context
def watch_enforcement(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Scheduled: AWS's verdict on the account (see ses_guard.enforcement)."""
    report = enforcement.watch(
        get_settings(), aws.client("sesv2"), aws.client("cloudwatch"), aws.client("sns"), database.get_engine()
    )
    return enforcement.report_dict(report)
