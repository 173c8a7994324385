"""Smoke runs of `make demo` (scripts/demo.py): the seed's story end to end against the emulator, on SQLite,
and on MariaDB under a database name the server does not have yet (created, used, kept with KEEP=1)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from ses_guard import database
from tests.conftest import MYSQL_URL
from tests.terraform import harness

REPO = Path(__file__).resolve().parents[2]


def run_demo(database_url: str, *options: str, keep: str = "") -> subprocess.CompletedProcess:
    harness.require_toolchain()
    completed = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), *options],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=420,
        env={**harness.terraform_environment(), "DATABASE_URL": database_url, "KEEP": keep},
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed


def test_the_demo_tells_the_seed_story_and_cleans_up():
    out = run_demo("").stdout
    assert "Scenario 3, leaked credentials: 10 notifications published, 10 drained, batch item failures: []" in out
    assert "validated = 0 for user 3 <user3@example.com>" in out
    assert "ses-guard-complete-send-count-warning: 30,000 -> 120,000" in out
    assert "the run after: changed=False" in out  # PROBATION announced once
    assert "suppressed by SES, still valid in the application: 1" in out
    assert "GetAccountSendingEnabled -> Enabled=False" in out
    # Readable: a named metric, tables with headers, rates in percent.
    assert "metrics the functions emitted (EMF): EmailNotRegisteredCount = 10\n" in out
    assert "user_id  email_address      validated" in out
    assert "3        user3@example.com  0" in out
    assert "source IP      caller identity" in out and "198.51.100.66" in out
    bounce_rate = next(line for line in out.splitlines() if "bounce-rate-warning" in line)
    assert "Reputation.BounceRate" in bounce_rate and " 5% " in bounce_rate
    assert "Demo finished in" in out and "Next steps:" in out and "KEEP=1 make demo" in out


@pytest.mark.mysql
def test_the_demo_creates_and_uses_the_named_mariadb_database_and_keeps_it():
    name = f"ses_guard_demo_{uuid.uuid4().hex[:8]}"
    url = make_url(MYSQL_URL)._replace(database=name).render_as_string(hide_password=False)
    server = database.build_engine(make_url(MYSQL_URL)._replace(database=None))
    try:
        out = run_demo(url, keep="1").stdout
        assert f"MariaDB/MySQL: database {name} on 127.0.0.1 (created; kept at the end)" in out
        assert f"export DATABASE_URL='{make_url(url).render_as_string(hide_password=True)}'" in out
        kept = database.build_engine(url)
        with kept.connect() as connection:
            assert {"users", "user_email_log", "unvalidated_email_log"} <= set(inspect(connection).get_table_names())
            assert connection.execute(text("SELECT validated FROM users WHERE user_id = 3")).scalar() == 0
            assert connection.execute(text("SELECT COUNT(*) FROM unvalidated_email_log")).scalar() == 10
        kept.dispose()
    finally:
        with server.begin() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()


def test_make_demo_on_a_fresh_machine_installs_only_what_the_demo_needs(tmp_path):
    """`make -n -B demo` with no virtualenv yet: what a first `make demo` would run, without running it."""
    completed = subprocess.run(
        ["make", "-n", "-B", "demo", f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    plan = completed.stdout
    assert "-r requirements-demo.txt" in plan
    assert "requirements-dev.txt" not in plan
    assert "checkov" not in plan
    assert "scripts/install_tools.py" in plan and "scripts/demo.py" in plan
    demo = set(Path(REPO / "requirements-demo.txt").read_text().lower().split())
    assert not {"ruff==0.17.6", "hypothesis==6.170.17"} & demo
