"""Terraform init, apply, plan and destroy of examples/complete against the emulator, timed.

Reuses the Terraform suite's harness (tests/terraform/harness.py: offline toolchain, module tree copy,
emulator override) and the moto server with the project's extensions (tests/support/moto_server.py).
Anything missing is reported as "not available", never estimated.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from pathlib import Path


def measure(root: Path) -> dict:
    try:
        import pytest

        from tests.support.moto_server import EmulatorServer
        from tests.terraform import harness
    except ImportError as error:
        return {"available": False, "reason": f"the emulator harness is missing ({error})"}
    needed = (harness.TERRAFORM, harness.CLI_CONFIG, harness.LAMBDA_ZIP)
    missing = [str(path.relative_to(root)) for path in needed if not path.exists()]
    if missing:
        return {"available": False, "reason": f"missing {', '.join(missing)} (`make tools build`)"}
    if not (root / "examples" / "complete").is_dir():
        return {"available": False, "reason": "examples/complete does not exist"}

    steps = []
    with tempfile.TemporaryDirectory(prefix="ses-guard-bench-tf-") as tmp, EmulatorServer() as server:
        tree = harness.copy_module_tree(Path(tmp) / "module")
        variables = {
            "sender_address": "noreply@example.com",
            "alert_email": "oncall@example.com",
            "alert_phone_number": "+15555550100",
            "database_url": f"sqlite:///{tmp}/guard.db",
        }
        deployment = harness.prepare_example(tree, "complete", server.endpoint_url, variables, Path(tmp) / "tf")
        runner = deployment.runner

        def step(name, action, result):
            started = time.monotonic()
            try:
                outcome = action()
            except (Exception, pytest.fail.Exception) as error:
                raise RuntimeError(f"terraform {name} failed: {runner.last_output()[-600:] or error}") from None
            steps.append({"name": name, "seconds": time.monotonic() - started, "result": result(outcome)})
            return outcome

        step("init", runner.init, lambda _: "providers from the offline mirror")
        step("apply -auto-approve", lambda: runner._run_cmd(runner._get_cmd_args("apply")), lambda _: "applied")
        state = json.loads(Path(runner.state_path).read_text())
        resources = sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")
        step(
            "plan -detailed-exitcode",
            runner.plan_exit_code,
            lambda code: {0: "no changes (idempotent)", 2: "CHANGES after apply", 1: "error"}.get(code, str(code)),
        )
        step("destroy -auto-approve", runner.destroy, lambda _: "destroyed")
        lock = Path(runner.module_dir) / ".terraform.lock.hcl"
        provider = re.search(r'version\s*=\s*"([^"]+)"', lock.read_text()) if lock.exists() else None
    version = subprocess.run([str(harness.TERRAFORM), "version", "-json"], capture_output=True, text=True)  # noqa: S603
    try:
        terraform_version = json.loads(version.stdout)["terraform_version"]
    except (ValueError, KeyError):
        terraform_version = "(unknown)"
    return {
        "available": True,
        "terraform_version": terraform_version,
        "provider_version": provider.group(1) if provider else "(unknown)",
        "resources": resources,
        "steps": steps,
    }
