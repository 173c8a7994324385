"""Time the apply, plan and destroy cycle of both examples against a fresh moto server, the way
the test suite runs it (side by side, Terraform 1.0.3 and aws 3.39.0 from .tools/), and print
the seconds as JSON for `make bench`.

    .venv/bin/python scripts/terraform_cycle.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from tests.support.moto_server import EmulatorServer  # noqa: E402
from tests.terraform import harness  # noqa: E402


def main() -> int:
    harness.require_toolchain()
    with tempfile.TemporaryDirectory(prefix="terraform-cycle-") as scratch, EmulatorServer() as server:
        root = Path(scratch)
        secrets = boto3.client(
            "secretsmanager",
            endpoint_url=server.endpoint_url,
            region_name=harness.REGION,
            aws_access_key_id=harness.EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=harness.EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        secret_arn = secrets.create_secret(Name="ses-guard/database", SecretString="{}")["ARN"]
        tree = harness.copy_module_tree(root / "module")
        complete_variables = {
            "sender_address": "noreply@example.com",
            "alert_email": "oncall@example.com",
            "alert_phone_number": "+15555550100",
            "database_url": f"sqlite:///{root / 'guard.db'}",
        }
        deployments = {
            "complete": harness.prepare_example(tree, "complete", server.endpoint_url, complete_variables, root),
            "minimal": harness.prepare_example(
                tree, "minimal", server.endpoint_url, {"db_secret_arn": secret_arn}, root
            ),
        }
        for deployment in deployments.values():
            deployment.init()
        started = time.monotonic()
        harness.side_by_side(deployments, harness.Deployment.apply)
        plans = harness.side_by_side(deployments, harness.Deployment.plan_exit_code)
        harness.side_by_side(deployments, harness.Deployment.destroy)
        result = {
            "both_examples_seconds": round(time.monotonic() - started, 1),
            "plan_exit_codes": plans,
            **{name: deployment.seconds for name, deployment in deployments.items()},
        }
    print(json.dumps(result))
    return 0 if set(plans.values()) == {0} else 1


if __name__ == "__main__":
    sys.exit(main())
