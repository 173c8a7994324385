"""Smoke run of `make demo` (scripts/demo.py): the seed's story end to end against the emulator."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.terraform import harness

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_tells_the_seed_story_and_cleans_up():
    harness.require_toolchain()
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**harness.terraform_environment(), "DATABASE_URL": ""},
    )
    out = completed.stdout
    assert completed.returncode == 0, out[-3000:] + completed.stderr[-3000:]
    assert "Scenario 3, leaked credentials: 10 notifications published, 10 drained, batch item failures: []" in out
    assert "validated = 0 for user 3 <user3@example.com>" in out
    assert "ses-guard-complete-send-count-warning: 30,000 -> 120,000" in out
    assert "GetAccountSendingEnabled -> Enabled=False" in out
    assert "metrics the functions emitted (EMF): {'EmailNotRegisteredCount': 10.0}" in out
    assert "3 | user3@example.com | 0" in out
    assert "Demo finished in" in out
