"""A deadlock victim's transaction runs again; any other database error propagates at once."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from ses_guard.store import DEADLOCK_ATTEMPTS, _retry_on_deadlock


class FlakyTransaction:
    def __init__(self, failures, code=None, driver_error=None):
        self.failures, self.calls = failures, 0
        self.driver_error = driver_error if code is None else Exception(code, "Deadlock found")

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise OperationalError("INSERT ...", {}, self.driver_error)
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


@pytest.mark.parametrize("driver_error", [Exception(), None], ids=["driver error without a code", "no driver error"])
def test_an_error_without_a_code_propagates_as_it_is(driver_error):
    """Not an IndexError or AttributeError in its place: the invocation's one log line names the real cause."""
    work = FlakyTransaction(failures=1, driver_error=driver_error)
    with pytest.raises(OperationalError) as raised:
        _retry_on_deadlock(work)
    assert raised.value.orig is driver_error
    assert work.calls == 1
