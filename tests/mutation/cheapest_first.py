"""pytest plugin of `make mutation` (tests/mutation/setup.cfg loads it): a mutant runs the tests that reach its
function with -x, so the cheapest go first, the SQLite and unit tests before the MariaDB ones (whose database
takes most of a test's time to create), each kind by the duration mutmut recorded: a mutant a quick test kills
is not held up by the slow ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# Written by mutmut into the directory the tests run in (build/mutation/mutants).
STATS = Path("mutmut-stats.json")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    durations = json.loads(STATS.read_text(encoding="utf-8"))["duration_by_test"] if STATS.exists() else {}
    items.sort(key=lambda item: ("mysql" in item.keywords, durations.get(item.nodeid, 0.0)))
