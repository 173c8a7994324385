"""boto3 clients, one per service for whoever holds them (a Lambda container, a CLI run), created on first use."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional


class Clients:
    """Callable: clients("ses") is the holder's SES client. Clients given up front (tests: moto's) are used as
    they are; any other is created when first asked for."""

    def __init__(self, given: Optional[Mapping[str, Any]] = None) -> None:
        self._clients: Dict[str, Any] = dict(given or {})

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            # Imported here: boto3 costs ~100 ms at cold start and the event processor rarely needs it.
            import boto3

            self._clients[service] = boto3.client(service)
        return self._clients[service]
