"""Session fixtures: one moto server, both examples applied to it side by side, destroyed at the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional

import pytest

from tests.support.fixtures import emulator  # noqa: F401  (the session's moto server)
from tests.support.moto_server import EmulatorServer
from tests.terraform import harness

ACCOUNT = "123456789012"
# Each example owns an account part (account_resources), and one account and region holds one owner.
MINIMAL_ACCOUNT = "210987654321"
SENDER = "noreply@example.com"


@pytest.fixture(scope="session")
def aws(emulator: EmulatorServer) -> Callable:  # noqa: F811
    """aws("sns") -> a boto3 client of the emulator; aws("sns", account_id) one in that account
    (a deployment's account_id: None is the default account)."""
    credentials: Dict[Optional[str], Optional[Dict[str, str]]] = {None: None, ACCOUNT: None}

    def client(service: str, account_id: Optional[str] = None):
        if account_id not in credentials:
            credentials[account_id] = harness.account_credentials(emulator.endpoint_url, account_id)
        return harness.emulator_client(emulator.endpoint_url, service, credentials[account_id])

    return client


@pytest.fixture(scope="session")
def wiring_database(tmp_path_factory) -> Path:
    """SQLite file the complete example's functions are configured with (DATABASE_URL)."""
    return tmp_path_factory.mktemp("wiring") / "guard.db"


@pytest.fixture(scope="session")
def database_secret_arn(aws) -> str:
    """A database secret in the RDS format, for the minimal example's db_secret_arn."""
    secret = aws("secretsmanager").create_secret(
        Name="ses-guard/database",
        SecretString=json.dumps(
            {
                "engine": "mysql",
                "host": "db.internal",
                "port": 3306,
                "username": "guard",
                "password": "x",
                "dbname": "app",
            }
        ),
    )
    return secret["ARN"]


@pytest.fixture(scope="session")
def deployed(
    emulator,  # noqa: F811
    wiring_database,
    database_secret_arn,
    tmp_path_factory,
) -> Iterator[Dict[str, harness.Deployment]]:
    """examples/complete and examples/minimal applied to the emulator; destroyed after the session
    unless a test destroyed them already."""
    harness.require_toolchain()
    tree = harness.copy_module_tree(tmp_path_factory.mktemp("module"))
    work_root = tmp_path_factory.mktemp("terraform")
    deployments = {
        "complete": harness.prepare_example(
            tree,
            "complete",
            emulator.endpoint_url,
            {
                "sender_address": SENDER,
                "alert_email": "oncall@example.com",
                "alert_phone_number": "+15555550100",
                "database_url": f"sqlite:///{wiring_database}",
            },
            work_root,
        ),
        "minimal": harness.prepare_example(
            tree,
            "minimal",
            emulator.endpoint_url,
            {"db_secret_arn": database_secret_arn},
            work_root,
            account_id=MINIMAL_ACCOUNT,
        ),
    }
    with harness.applied_side_by_side(deployments):
        yield deployments


@pytest.fixture(scope="session")
def complete(deployed) -> harness.Deployment:
    return deployed["complete"]


@pytest.fixture(scope="session")
def minimal(deployed) -> harness.Deployment:
    return deployed["minimal"]
