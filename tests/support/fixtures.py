"""pytest fixtures around the emulator; import them into a conftest.py to use them."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.moto_server import EmulatorServer

EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """URL of a moto server (with the SES extensions) on a free loopback port, for the session."""
    with EmulatorServer() as server:
        yield server.endpoint_url
