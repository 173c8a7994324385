"""A deadlock victim's transaction runs again; any other database error propagates at once."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from ses_guard.store import DEADLOCK_ATTEMPTS, _retry_on_deadlock


class FlakyTransaction:
    def __init__(self, failures, code):
        self.failures, self.code, self.calls = failures, code, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("INSERT ...", {}, Exception(self.code, "Deadlock found"))
        return "stored"


def test_a_deadlock_victim_is_retried_until_it_succeeds():
    work = FlakyTransaction(failures=DEADLOCK_ATTEMPTS - 1, code=1213)
    assert _retry_on_deadlock(work) == "stored"
    assert work.calls == DEADLOCK_ATTEMPTS


def test_retries_are_bounded():
    work = FlakyTransaction(failures=DEADLOCK_ATTEMPTS, code=1205)
    with pytest.raises(OperationalError):
        _retry_on_deadlock(work)
    assert work.calls == DEADLOCK_ATTEMPTS


def test_other_errors_are_not_retried():
    work = FlakyTransaction(failures=1, code=2003)  # can't connect
    with pytest.raises(OperationalError):
        _retry_on_deadlock(work)
    assert work.calls == 1
