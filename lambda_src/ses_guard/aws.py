"""boto3 clients: one per service per container, created lazily, replaceable in tests."""

from __future__ import annotations

from typing import Any, Dict

_clients: Dict[str, Any] = {}


def client(service: str) -> Any:
    if service not in _clients:
        # Imported here: boto3 costs ~100 ms at cold start and the event processor rarely needs it.
        import boto3

        _clients[service] = boto3.client(service)
    return _clients[service]


def set_client(service: str, instance: Any) -> None:
    """Inject a client (tests); None drops it so the next call builds a real one."""
    if instance is None:
        _clients.pop(service, None)
    else:
        _clients[service] = instance
