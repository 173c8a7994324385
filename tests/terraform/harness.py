"""Apply the examples to the moto server with the offline Terraform toolchain.

Terraform runs through pytest-terraform's TerraformRunner, but not through its
@terraform fixture decorator, because that fixture
  * takes the terraform binary from PATH (this machine has a Terraform 1.11 there)
    unless every pytest invocation passes --tf-binary,
  * runs terraform inside the module's own directory and writes tf_resources.json
    into it, where the emulator override file would have to go too, and
  * applies its fixtures one after another: the two examples' apply, plan and
    destroy then take about 2 minutes on this machine, side by side about 70 s.
So the examples are copied (with the module) into a temporary tree, an
emulator-only override file is added next to each, and both are driven by
pytest-terraform runners in two threads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Dict, Iterator, List, Optional, Sequence

import boto3
import pytest
from pytest_terraform.tf import TerraformRunner, TerraformState

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools"
TERRAFORM = TOOLS / "bin" / "terraform"
CLI_CONFIG = TOOLS / "terraformrc"
LAMBDA_ZIP = REPO / "dist" / "ses-guard-lambda.zip"
REGION = "us-east-1"
# hashicorp/aws 3.39 accepts Lambda runtimes up to python3.8; the module's default is python3.12.
EMULATOR_RUNTIME = "python3.8"
# Every service the module and the examples touch; provider 3.39 spells the endpoint keys like this.
ENDPOINT_SERVICES = (
    "cloudformation",
    "cloudwatch",
    "cloudwatchevents",
    "cloudwatchlogs",
    "iam",
    "kms",
    "lambda",
    "secretsmanager",
    "ses",
    "sns",
    "sqs",
    "ssm",
    "sts",
)
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def require_toolchain() -> None:
    missing = [str(path.relative_to(REPO)) for path in (TERRAFORM, CLI_CONFIG, LAMBDA_ZIP) if not path.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make tools build` first", pytrace=False)


CHECKOV = TOOLS / "checkov-venv" / "bin" / "checkov"


def checkov(tree: Path, *output_options: str) -> subprocess.CompletedProcess:
    """checkov over a module tree, as `make checkov` runs it, with the output options the caller reads."""
    if not CHECKOV.exists():
        pytest.fail(f"missing {CHECKOV.relative_to(REPO)}: run `make tools`", pytrace=False)
    command = [str(CHECKOV), "--directory", str(tree), "--framework", "terraform", "--quiet", "--skip-download"]
    return subprocess.run([*command, *output_options], capture_output=True, text=True)


def account_credentials(endpoint_url: str, account_id: str) -> Dict[str, str]:
    """Emulator credentials of another account. moto keeps each account apart by the access key, and
    one account and region holds one owner of the account part (account_resources), so examples that
    each own an account part are applied in accounts of their own, as they would be in AWS."""
    sts = boto3.client("sts", endpoint_url=endpoint_url, region_name=REGION, **_boto3_credentials(EMULATOR_CREDENTIALS))
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/emulator", RoleSessionName="tests")[
        "Credentials"
    ]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def _boto3_credentials(environment: Dict[str, str]) -> Dict[str, Optional[str]]:
    return {
        "aws_access_key_id": environment["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": environment["AWS_SECRET_ACCESS_KEY"],
        "aws_session_token": environment.get("AWS_SESSION_TOKEN"),
    }


def emulator_client(endpoint_url: str, service: str, credentials: Optional[Dict[str, str]] = None):
    """A boto3 client of the emulator, in the account of `credentials` (default: the default account)."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=REGION,
        **_boto3_credentials(credentials or EMULATOR_CREDENTIALS),
    )


def terraform_environment(credentials: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    environment = dict(os.environ)
    environment.pop("AWS_SESSION_TOKEN", None)
    environment.update(credentials or EMULATOR_CREDENTIALS)
    environment.update(
        {
            # Set, not defaulted: the machine presets TF_CLI_CONFIG_FILE to a file that does not exist.
            "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    return environment


def emulator_provider(endpoint_url: str) -> str:
    """HCL of an aws provider that talks to the emulator only."""
    endpoints = "\n".join(f'    {service} = "{endpoint_url}"' for service in ENDPOINT_SERVICES)
    return f"""provider "aws" {{
  region                      = "{REGION}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_get_ec2_platforms      = true
  skip_region_validation      = true
  max_retries                 = 2

  endpoints {{
{endpoints}
  }}
}}
"""


def emulator_override(endpoint_url: str, lambda_zip: Path, module_names: Sequence[str] = ("ses_guard",)) -> str:
    """HCL merged over an example: the provider pointed at moto, each module at the built zip."""
    modules = "".join(
        f"""
module "{module_name}" {{
  lambda_zip_path = "{lambda_zip}"
  lambda_runtime  = "{EMULATOR_RUNTIME}"
}}
"""
        for module_name in module_names
    )
    return f"""# Written by tests/terraform/harness.py for the emulator; never part of an example.
{emulator_provider(endpoint_url)}{modules}"""


def copy_module_tree(destination: Path) -> Path:
    """The root module, its submodules and the examples, without local .terraform state."""
    ignore = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "terraform.tfstate*", "*.tfvars*")
    destination.mkdir(parents=True, exist_ok=True)
    for tf_file in REPO.glob("*.tf"):
        shutil.copy2(tf_file, destination / tf_file.name)
    for directory in ("modules", "examples"):
        shutil.copytree(REPO / directory, destination / directory, ignore=ignore)
    return destination


class EmulatorTerraformRunner(TerraformRunner):
    """pytest-terraform's runner with our environment, its output kept for error messages, and
    quicker defaults: apply straight from the configuration rather than through a plan file (one
    terraform run fewer), and destroy without refreshing the state apply left, which the no-drift
    plan has just compared with the emulator."""

    command_templates: ClassVar[Dict[str, str]] = dict(
        TerraformRunner.command_templates,
        apply="apply {input} {color} {state} {approve}",
        destroy="destroy {input} {color} {state} {approve} -refresh=false",
    )

    def __init__(self, module_dir: Path, work_dir: Path, credentials: Optional[Dict[str, str]] = None) -> None:
        super().__init__(str(work_dir), module_dir=str(module_dir), tf_bin=str(TERRAFORM))
        self.log: List[str] = []
        self.credentials = credentials

    def _run_cmd(self, args, output=False):
        environment = terraform_environment(self.credentials)
        environment["TF_DATA_DIR"] = self.work_dir
        completed = subprocess.run(
            args, cwd=self.module_dir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        text = completed.stdout.decode("utf8", "replace")
        self.log.append(f"$ {' '.join(args[1:3])}\n{text}")
        if completed.returncode != 0:
            raise subprocess.CalledProcessError(completed.returncode, args, output=completed.stdout)
        return completed.stdout if output else 0

    def apply_configuration(self) -> TerraformState:
        self._run_cmd(self._get_cmd_args("apply"))
        return TerraformState.from_file(self.state_path, self)

    def plan_exit_code(self) -> int:
        """terraform plan -detailed-exitcode: 0 no changes, 1 error, 2 changes."""
        args = [*self._get_cmd_args("plan", output=""), "-detailed-exitcode"]
        environment = terraform_environment(self.credentials)
        environment["TF_DATA_DIR"] = self.work_dir
        completed = subprocess.run(
            args, cwd=self.module_dir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.log.append(f"$ plan -detailed-exitcode\n{completed.stdout.decode('utf8', 'replace')}")
        return completed.returncode

    def planned_changes(self, plan_file: Path) -> Dict[str, Any]:
        """terraform plan -out, then terraform show -json of it: the plan as Terraform describes it."""
        self._run_cmd([*self._get_cmd_args("plan", output=f"-out={plan_file}")])
        environment = terraform_environment(self.credentials)
        environment["TF_DATA_DIR"] = self.work_dir
        shown = subprocess.run(
            [str(TERRAFORM), "show", "-no-color", "-json", str(plan_file)],
            cwd=self.module_dir,
            env=environment,
            capture_output=True,
            check=True,
        )
        return json.loads(shown.stdout)

    def targeted(self, command: str, *targets: str) -> int:
        """terraform destroy, or plan -detailed-exitcode, of the given addresses only; the exit code."""
        target_args = [f"-target={target}" for target in targets]
        if command == "destroy":
            args = [*self._get_cmd_args("destroy"), *target_args]
        else:
            args = [*self._get_cmd_args("plan", output=""), "-detailed-exitcode", *target_args]
        environment = terraform_environment(self.credentials)
        environment["TF_DATA_DIR"] = self.work_dir
        completed = subprocess.run(
            args, cwd=self.module_dir, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        self.log.append(f"$ {command} {' '.join(target_args)}\n{completed.stdout.decode('utf8', 'replace')}")
        return completed.returncode

    def last_output(self) -> str:
        return self.log[-1] if self.log else ""


@dataclass
class Deployment:
    """One example applied to the emulator."""

    name: str
    runner: EmulatorTerraformRunner
    state: Optional[TerraformState] = None
    seconds: Dict[str, float] = field(default_factory=dict)
    destroyed: bool = False
    account_id: Optional[str] = None

    @property
    def outputs(self) -> Dict[str, object]:
        return {name: output["value"] for name, output in self.state.outputs.items()}

    def timed(self, step: str, action: Callable):
        started = time.monotonic()
        try:
            return action()
        finally:
            self.seconds[step] = round(time.monotonic() - started, 1)

    def init(self) -> None:
        """terraform init. Run these one at a time: two inits filling the shared plugin cache at
        once can leave one with a half-copied provider."""
        try:
            self.timed("init", self.runner.init)
        except subprocess.CalledProcessError:
            pytest.fail(f"terraform init of examples/{self.name} failed:\n{self.runner.last_output()}", pytrace=False)

    def apply(self) -> None:
        try:
            self.state = self.timed("apply", self.runner.apply_configuration)
        except subprocess.CalledProcessError:
            pytest.fail(f"terraform apply of examples/{self.name} failed:\n{self.runner.last_output()}", pytrace=False)

    def plan_exit_code(self) -> int:
        return self.timed("plan", self.runner.plan_exit_code)

    def destroy(self) -> None:
        if self.destroyed or not Path(self.runner.state_path).exists():
            return
        try:
            self.timed("destroy", self.runner.destroy)
        except subprocess.CalledProcessError:
            pytest.fail(
                f"terraform destroy of examples/{self.name} failed:\n{self.runner.last_output()}", pytrace=False
            )
        self.destroyed = True


@contextmanager
def applied_side_by_side(deployments: Dict[str, Deployment]) -> Iterator[Dict[str, Deployment]]:
    """Initialised one at a time, applied side by side, and destroyed side by side on the way out unless
    a test destroyed them already."""
    try:
        for deployment in deployments.values():
            deployment.init()
        side_by_side(deployments, Deployment.apply)
        yield deployments
    finally:
        side_by_side(deployments, Deployment.destroy)


def side_by_side(deployments: Dict[str, Deployment], step: Callable[[Deployment], object]) -> Dict[str, object]:
    """Run one step on every deployment at once; their terraform runs are independent."""
    with ThreadPoolExecutor(max_workers=len(deployments)) as pool:
        futures = {name: pool.submit(step, deployment) for name, deployment in deployments.items()}
        return {name: future.result() for name, future in futures.items()}


def prepare_example(
    tree: Path,
    name: str,
    endpoint_url: str,
    variables: Dict[str, object],
    work_root: Path,
    account_id: Optional[str] = None,
    module_names: Sequence[str] = ("ses_guard",),
) -> Deployment:
    """examples/<name> ready to apply, in the emulator's default account or in account_id."""
    example = tree / "examples" / name
    (example / "emulator_override.tf").write_text(emulator_override(endpoint_url, LAMBDA_ZIP, module_names))
    (example / "emulator.auto.tfvars.json").write_text(json.dumps(variables, indent=2))
    work_dir = work_root / name / "work"
    work_dir.mkdir(parents=True)
    credentials = account_credentials(endpoint_url, account_id) if account_id else None
    return Deployment(name, EmulatorTerraformRunner(example, work_dir, credentials), account_id=account_id)
