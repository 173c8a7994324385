"""The package's one structured logger and one EMF metrics sink (AWS Lambda Powertools)."""

from __future__ import annotations

import os
import sys

from aws_lambda_powertools import Logger, Metrics

from ses_guard.settings import DEFAULT_NAMESPACE, DEFAULT_SERVICE

# Read directly, not through get_settings(): a bad value elsewhere must not break importing the logger.
_service = os.environ.get("POWERTOOLS_SERVICE_NAME", "").strip() or DEFAULT_SERVICE
logger = Logger(service=_service)
metrics = Metrics(
    namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "").strip() or DEFAULT_NAMESPACE, service=_service
)


def log_to_stderr() -> None:
    """Keep stdout for a command's own output (used by the CLI)."""
    handler = logger.registered_handler
    if hasattr(handler, "stream"):
        # Assigned, not setStream(): that flushes the old stream, which may already be closed.
        handler.stream = sys.stderr
