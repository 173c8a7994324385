"""Standing in for Lambda in the wiring test: moto cannot run the functions (it would need Docker),
so the test reads the deployed queue itself and runs the handler the deployed function names, in a
fresh interpreter with the deployed function's environment."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import boto3

from tests.terraform import harness

REPO = Path(__file__).resolve().parents[2]


def ses_guard_cli(*arguments: str, database_url: str) -> None:
    """The operator's CLI, as its own process: it reads DATABASE_URL like the functions do."""
    executable = shutil.which("ses-guard", path=str(Path(sys.executable).parent))
    assert executable, "the ses-guard CLI is not installed in this virtualenv (pip install -e lambda_src)"
    subprocess.run([executable, *arguments], env={"DATABASE_URL": database_url}, check=True, capture_output=True)


def receive_all(sqs, queue_url: str, expected: int) -> list:
    messages: dict = {}
    for _ in range(20):
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        messages.update({message["MessageId"]: message for message in batch})
        if len(messages) >= expected:
            break
    return list(messages.values())


def sqs_lambda_event(messages: list, queue_arn: str, region: str) -> dict:
    """The event Lambda's SQS event source mapping hands to the function."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message["Attributes"],
                "messageAttributes": {},
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def execution_role_credentials(configuration: dict, endpoint_url: str) -> dict:
    """Credentials of the function's execution role, as Lambda hands them to the handler: the topic and
    queue policies (tests/support/moto_policies) let only the guard's own roles announce."""
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint_url,
        region_name=harness.REGION,
        **{key.lower(): value for key, value in harness.EMULATOR_CREDENTIALS.items()},
    )
    credentials = sts.assume_role(RoleArn=configuration["Role"], RoleSessionName=configuration["FunctionName"])[
        "Credentials"
    ]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def invoke_like_lambda(configuration: dict, event: dict, endpoint_url: str, tmp_path: Path):
    """The handler the deployed function names, in a fresh interpreter with the deployed environment and
    its execution role's credentials. Returns its response and what it printed (logs and EMF metrics)."""
    environment = {
        "PATH": str(Path(sys.executable).parent),
        "PYTHONPATH": str(REPO),
        **configuration["Environment"]["Variables"],
        # Any AWS call the handler makes goes to the emulator, never to AWS.
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": harness.REGION,
        **execution_role_credentials(configuration, endpoint_url),
    }
    response_path = tmp_path / "response.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.terraform.lambda_runner",
            configuration["Handler"],
            configuration["FunctionArn"],
            str(response_path),
        ],
        input=json.dumps(event),
        env=environment,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(response_path.read_text()), completed.stdout
