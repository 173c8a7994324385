"""The package's one structured logger and one EMF metrics sink (AWS Lambda Powertools), and the names of the
metrics the guard publishes and its alarms watch."""

from __future__ import annotations

import sys

from aws_lambda_powertools import Logger, Metrics

from ses_guard.settings import MetricsSettings

# Unregistered (SES message, recipient) pairs recorded for the first time: the breaker's alarm watches it.
NOT_REGISTERED_METRIC = "EmailNotRegisteredCount"
# Records dropped as not from SES of this account through the events topic (provenance.py).
FOREIGN_METRIC = "ForeignRecordsDropped"

# Powertools reads its own POWERTOOLS_SERVICE_NAME and POWERTOOLS_METRICS_NAMESPACE; configure() applies the
# guard's defaults where they are unset (the entry point calls it with the settings it read).
logger = Logger()
metrics = Metrics()


def configure(settings: MetricsSettings) -> None:
    logger.append_keys(service=settings.service_name)
    metrics.namespace = settings.namespace
    metrics.service = settings.service_name


def log_to_stderr() -> None:
    """Keep stdout for a command's own output (used by the CLI)."""
    handler = logger.registered_handler
    if hasattr(handler, "stream"):
        # Assigned, not setStream(): that flushes the old stream, which may already be closed.
        handler.stream = sys.stderr
