"""pytest fixtures around the emulator. A conftest.py uses them by importing them:

from tests.support.fixtures import emulator  # noqa: F401
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.support.moto_server import EmulatorServer


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    """A moto server with the project's extensions on a free loopback port, for the whole session;
    its URL is emulator.endpoint_url."""
    with EmulatorServer() as server:
        yield server
