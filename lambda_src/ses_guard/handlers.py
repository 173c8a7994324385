"""Lambda entry points: decorators and one call each. What a container reads and creates once (settings,
engine, clients) is its Container; nothing below this module reads the environment."""

from __future__ import annotations

import functools
import os
from dataclasses import asdict
from datetime import datetime
from typing import Any, Callable, Dict, Mapping, Optional

from sqlalchemy.engine import Engine

import ses_guard.disable_sending
import ses_guard.suppress_bouncing_users
import ses_guard.sync_thresholds
import ses_guard.watch_enforcement
from ses_guard import audit, aws, database, lambda_events, observability, provenance, settings
from ses_guard.observability import logger, metrics
from ses_guard.store import EventStore

Handler = Callable[[Dict[str, Any], Any], Dict[str, Any]]


class Container:
    """What one Lambda container reads and creates once, for every invocation after: each function's settings
    (read from `env` when first needed: a bad value fails only the function that reads it), the database
    engine and the AWS clients (created when first used), the clock. Tests give their own."""

    def __init__(
        self,
        env: Mapping[str, str],
        engine: Optional[Engine] = None,
        clients: Optional[Mapping[str, Any]] = None,
        clock: Callable[[], datetime] = audit.utcnow,
    ) -> None:
        self.env = env
        self.clients = aws.Clients(clients)
        self.clock = clock
        self._engine = engine

    @functools.cached_property
    def metrics(self) -> settings.MetricsSettings:
        """The service name and metric namespace of the package's logger and metrics."""
        return settings.metrics_settings(self.env)

    @functools.cached_property
    def engine(self) -> Engine:
        return self._engine or database.engine_for(settings.database_settings(self.env), self.clients)

    @functools.cached_property
    def processor(self) -> settings.ProcessorSettings:
        return settings.processor_settings(self.env)

    @functools.cached_property
    def store(self) -> EventStore:
        return EventStore(self.engine, self.processor.users)

    @functools.cached_property
    def sync_thresholds(self) -> settings.SyncThresholdsSettings:
        return settings.sync_thresholds_settings(self.env)

    @functools.cached_property
    def suppress_bouncing_users(self) -> settings.SuppressBouncingUsersSettings:
        return settings.suppress_bouncing_users_settings(self.env)

    @functools.cached_property
    def disable_sending(self) -> settings.DisableSendingSettings:
        return settings.disable_sending_settings(self.env)

    @functools.cached_property
    def watch_enforcement(self) -> settings.WatchEnforcementSettings:
        return settings.watch_enforcement_settings(self.env)


_container: Optional[Container] = None


def container() -> Container:
    """This Lambda container's Container, made from its environment on the first invocation."""
    global _container
    if _container is None:
        _container = Container(os.environ)
    observability.configure(_container.metrics)
    return _container


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
    """SNS- or SQS-triggered: log every recipient of every SES event, count mail to unregistered recipients."""
    home, guard = provenance.Home.of_arn(context.invoked_function_arn), container()
    return lambda_events.process_event(event, guard.store, provenance.Source.of(guard.processor, home.account_id))


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def sync_thresholds(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Scheduled: moves the send-count alarms' thresholds to their share of the SES quota."""
    guard = container()
    report = ses_guard.sync_thresholds.sync(
        guard.sync_thresholds, guard.clients("ses"), guard.clients("cloudwatch"), guard.clients("sns"), guard.engine
    )
    return report.as_dict()


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def disable_sending(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Subscribed to the critical alert topic: the circuit breaker (see ses_guard.disable_sending)."""
    home, guard = provenance.Home.of_arn(context.invoked_function_arn), container()
    clients = {name: guard.clients(name) for name in ("ses", "sns", "cloudwatch")}
    messages = lambda_events.sns_messages(event)
    outcome = ses_guard.disable_sending.handle(
        messages, guard.disable_sending, home, clients, guard.engine, clock=guard.clock
    )
    return asdict(outcome)


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def suppress_bouncing_users(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Scheduled: sets validated = 0 for users who keep bouncing or complained (ses_guard.suppress_bouncing_users)."""
    guard = container()
    invalidated = ses_guard.suppress_bouncing_users.run(
        guard.engine, guard.suppress_bouncing_users, now=guard.clock(), sesv2=guard.clients("sesv2")
    )
    return {"invalidated": [asdict(user) for user in invalidated]}


@logger.inject_lambda_context
@_ends_in_time_with_a_reason
def watch_enforcement(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    """Scheduled: reads AWS's verdict on the account (see ses_guard.watch_enforcement)."""
    guard = container()
    report = ses_guard.watch_enforcement.watch(
        guard.watch_enforcement, guard.clients("sesv2"), guard.clients("cloudwatch"), guard.clients("sns"), guard.engine
    )
    return ses_guard.watch_enforcement.report_dict(report)
