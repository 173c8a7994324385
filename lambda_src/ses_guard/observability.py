"""The package's one structured logger and one EMF metrics sink (AWS Lambda Powertools)."""

from __future__ import annotations

import sys

from aws_lambda_powertools import Logger, Metrics

from ses_guard.settings import get_settings

logger = Logger(service=get_settings().service_name)
metrics = Metrics(namespace=get_settings().metrics_namespace, service=get_settings().service_name)


def log_to_stderr() -> None:
    """Keep stdout for a command's own output (used by the CLI)."""
    handler = logger.registered_handler
    if hasattr(handler, "stream"):
        # Assigned, not setStream(): that flushes the old stream, which may already be closed.
        handler.stream = sys.stderr
