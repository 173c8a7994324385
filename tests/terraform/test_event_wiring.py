"""The deployed wiring, end to end, with the real handler: SES notifications published to the
deployed events topic arrive in the deployed queue, and process_events, run with the deployed
function's environment, records them and counts the unregistered recipients under the metric
the deployed alarm watches. Catches drift between the Terraform and the code.

Lambda's event source mapping cannot run the code here (moto would need Docker), so the test
stands in for it: the mapping is paused, the queue is read, and the batch is handed over as
Lambda would hand it over. (This file sorts before test_examples.py, which destroys at its end.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import emitted_metrics
from tests.ses_samples import scenario_1, scenario_3
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


def invoke_like_lambda(configuration: dict, event: dict, endpoint_url: str, tmp_path: Path):
    """The handler the deployed function names, in a fresh interpreter with the deployed environment.
    Returns its response and what it printed (logs and EMF metrics)."""
    environment = {
        "PATH": str(Path(sys.executable).parent),
        "PYTHONPATH": str(REPO),
        **configuration["Environment"]["Variables"],
        # Any AWS call the handler makes goes to the emulator, never to AWS.
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": harness.REGION,
        **harness.EMULATOR_CREDENTIALS,
    }
    response_path = tmp_path / "response.json"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.terraform.lambda_runner",
            configuration["Handler"],
            configuration["FunctionName"],
            str(response_path),
        ],
        input=json.dumps(event),
        env=environment,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(response_path.read_text()), completed.stdout


@pytest.fixture
def paused_event_source_mapping(aws, complete):
    lambda_client = aws("lambda")
    uuid = complete.outputs["event_source_mapping_id"]
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
    yield
    lambda_client.update_event_source_mapping(UUID=uuid, Enabled=True)


def test_published_notifications_reach_the_database_through_the_deployed_wiring(
    aws, emulator, complete, paused_event_source_mapping, tmp_path
):
    configuration = aws("lambda").get_function_configuration(
        FunctionName=complete.outputs["function_names"]["process-events"]
    )
    database_url = configuration["Environment"]["Variables"]["DATABASE_URL"]
    ses_guard_cli("db", "upgrade", database_url=database_url)
    ses_guard_cli("db", "init-demo", database_url=database_url)

    notifications = scenario_1() + scenario_3()
    sns = aws("sns")
    for notification in notifications:
        sns.publish(TopicArn=complete.outputs["events_topic_arn"], Message=json.dumps(notification))

    sqs = aws("sqs")
    queue_url = complete.outputs["queue_url"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    messages = receive_all(sqs, queue_url, expected=len(notifications))
    assert len(messages) == len(notifications)
    # Not raw: the body is the SNS envelope whose MessageId the processor records.
    assert all(json.loads(message["Body"])["Type"] == "Notification" for message in messages)

    event = sqs_lambda_event(messages, queue_arn, harness.REGION)
    response, emitted = invoke_like_lambda(configuration, event, emulator.endpoint_url, tmp_path)

    assert response == {"batchItemFailures": []}
    engine = create_engine(database_url)
    with engine.connect() as connection:
        logged = connection.execute(
            text(
                "SELECT u.email_address, l.status FROM user_email_log l JOIN users u ON u.user_id = l.user_id"
                " ORDER BY u.email_address"
            )
        ).all()
        unregistered = connection.execute(
            text("SELECT destination_address, source_ip FROM unvalidated_email_log ORDER BY destination_address")
        ).all()
    engine.dispose()
    assert [tuple(row) for row in logged] == [
        ("user1@example.com", "Delivery"),
        ("user2@example.com", "Delivery"),
        ("user3@example.com", "Bounce"),
    ]
    assert sorted(row.destination_address for row in unregistered) == sorted(
        f"victim{n}@elsewhere.test" for n in range(1, 11)
    )
    assert {row.source_ip for row in unregistered} == {"198.51.100.66"}

    # The metric lands where the deployed alarm looks: same namespace, the one service dimension.
    alarm_name = complete.outputs["alarm_names"]["unregistered-recipients-critical"]
    (alarm,) = aws("cloudwatch").describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"]
    documents = [json.loads(line) for line in emitted.splitlines() if line.startswith("{") and '"_aws"' in line]
    directives = [
        directive
        for document in documents
        for directive in document["_aws"]["CloudWatchMetrics"]
        if any(metric["Name"] == alarm["MetricName"] for metric in directive["Metrics"])
    ]
    assert directives, f"no {alarm['MetricName']} in the handler's output"
    for directive in directives:
        assert directive["Namespace"] == alarm["Namespace"]
        assert directive["Dimensions"] == [[dimension["Name"] for dimension in alarm["Dimensions"]]]
    assert {document["service"] for document in documents if "service" in document} == {alarm["Dimensions"][0]["Value"]}
    assert emitted_metrics(emitted)[alarm["MetricName"]] == 10
