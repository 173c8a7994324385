"""Who may do what to the guard, read from the plan of the applied examples (`terraform show -json`):
every role's exact permissions, the topic, queue and key policies evaluated for the principals that must
and must not get through, and forged messages refused by the emulator (tests/support/moto_policies).

The examples are the session's `deployed` ones, which test_examples destroys at its end: this file sorts
before it, so pytest runs it first.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support.moto_policies import ALLOW, DENY, NEUTRAL, as_service, evaluate
from tests.terraform import harness
from tests.terraform.conftest import ACCOUNT, SENDER

REGION = harness.REGION
NAMES = {"complete": "ses-guard-complete", "minimal": "ses-guard"}


def resources(module: dict) -> Iterator[dict]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from resources(child)


@pytest.fixture(scope="module")
def plans(deployed) -> Dict[str, List[dict]]:
    """The resources of each applied example as `terraform plan` + `terraform show -json` render them."""
    rendered = {}
    for name, deployment in deployed.items():
        assert not deployment.destroyed, "test_examples destroyed the examples first: run this file before it"
        runner = deployment.runner
        plan_file = Path(runner.work_dir) / "access-control.tfplan"
        runner._run_cmd([*runner._get_cmd_args("plan", output=""), f"-out={plan_file}"])
        shown = subprocess.run(
            [str(harness.TERRAFORM), "show", "-json", str(plan_file)],
            cwd=runner.module_dir,
            env={**harness.terraform_environment(), "TF_DATA_DIR": runner.work_dir},
            capture_output=True,
            text=True,
            check=True,
        )
        rendered[name] = list(resources(json.loads(shown.stdout)["planned_values"]["root_module"]))
    return rendered


def values(plan: List[dict], resource_type: str) -> List[dict]:
    return [resource["values"] for resource in plan if resource["type"] == resource_type]


def as_list(value) -> List[str]:
    return [value] if isinstance(value, str) else list(value)


def permissions(policy: dict) -> Dict[str, Tuple[str, Tuple[str, ...], Tuple[str, ...], dict]]:
    """sid => (effect, actions, resources, conditions), order-free."""
    return {
        statement["Sid"]: (
            statement["Effect"],
            tuple(sorted(as_list(statement["Action"]))),
            tuple(sorted(as_list(statement["Resource"]))),
            {
                operator: {key: sorted(as_list(value)) for key, value in pairs.items()}
                for operator, pairs in statement.get("Condition", {}).items()
            },
        )
        for statement in policy["Statement"]
    }


def role_permissions(plan: List[dict], name: str) -> Dict[str, dict]:
    """function key => its role's permissions."""
    return {
        policy["name"][len(name) + 1 :]: permissions(json.loads(policy["policy"]))
        for policy in values(plan, "aws_iam_role_policy")
    }


def arn(service: str, resource: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{REGION}:{account}:{resource}"


def expected_permissions(
    outputs: dict, name: str, key: str, database_secret_arn: Optional[str] = None
) -> Dict[str, dict]:
    """What each function needs, and nothing more."""
    account = outputs["events_topic_arn"].split(":")[4]

    def here(service: str, resource: str) -> str:
        return arn(service, resource, account)

    alarm_names = outputs["alarm_names"]
    send_count_alarms = tuple(
        sorted(here("cloudwatch", f"alarm:{alarm_names[f'send-count-{tier}']}") for tier in ("warning", "critical"))
    )
    guard_key = {
        "UseTheGuardKeyThroughTheQueueAndTopics": (
            "Allow",
            ("kms:Decrypt", "kms:GenerateDataKey"),
            (key,),
            {"StringEquals": {"kms:ViaService": [f"sns.{REGION}.amazonaws.com", f"sqs.{REGION}.amazonaws.com"]}},
        )
    }
    database = (
        {"ReadTheDatabaseSecret": ("Allow", ("secretsmanager:GetSecretValue",), (database_secret_arn,), {})}
        if database_secret_arn
        else {}
    )

    def logs(key_name):
        log_group = here("logs", f"log-group:/aws/lambda/{name}-{key_name}:*")
        return {"WriteOwnLogs": ("Allow", ("logs:CreateLogStream", "logs:PutLogEvents"), (log_group,), {})}

    expected = {
        "process-events": {
            **logs("process-events"),
            "ConsumeTheEventQueue": (
                "Allow",
                ("sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"),
                (here("sqs", outputs["queue_url"].rsplit("/", 1)[-1]),),
                {},
            ),
            **database,
            **guard_key,
        },
        "sync-thresholds": {
            **logs("sync-thresholds"),
            "ReadTheSendingQuota": ("Allow", ("ses:GetSendQuota",), ("*",), {}),
            "ReadTheSendCountAlarms": ("Allow", ("cloudwatch:DescribeAlarms",), send_count_alarms, {}),
            "RewriteTheSendCountAlarmsKeepingTheirTopics": (
                "Allow",
                ("cloudwatch:PutMetricAlarm",),
                send_count_alarms,
                {
                    "ForAllValues:StringEquals": {
                        "cloudwatch:AlarmActions": sorted([outputs["warning_topic_arn"], outputs["critical_topic_arn"]])
                    },
                    "Null": {"cloudwatch:AlarmActions": ["false"]},
                },
            ),
            "AnnounceThresholdChanges": ("Allow", ("sns:Publish",), (outputs["warning_topic_arn"],), {}),
            "PublishQuotaUsageToTheQuotaNamespaceOnly": (
                "Allow",
                ("cloudwatch:PutMetricData",),
                ("*",),
                {"StringEquals": {"cloudwatch:namespace": [f"SESGuard/{name}/Quota"]}},
            ),
            **database,
            **guard_key,
        },
        "suppress-bouncing-users": {
            **logs("suppress-bouncing-users"),
            # examples/complete keeps the SES suppression list in step (sync_suppression_list).
            **(
                {
                    "AddInvalidatedAddressesToTheSuppressionList": (
                        "Allow",
                        ("ses:PutSuppressedDestination",),
                        ("*",),
                        {},
                    )
                }
                if name == NAMES["complete"]
                else {}
            ),
            **database,
        },
    }
    if "watch-enforcement" in outputs["function_names"]:
        expected["watch-enforcement"] = {
            **logs("watch-enforcement"),
            "ReadTheAccountStatus": ("Allow", ("ses:GetAccount",), ("*",), {}),
            "PublishTheStatusToOurNamespaceOnly": (
                "Allow",
                ("cloudwatch:PutMetricData",),
                ("*",),
                {"StringEquals": {"cloudwatch:namespace": [f"SESGuard/{name}/Enforcement"]}},
            ),
            "AnnounceStatusChanges": (
                "Allow",
                ("sns:Publish",),
                tuple(sorted([outputs["warning_topic_arn"], outputs["critical_topic_arn"]])),
                {},
            ),
            **database,
            **guard_key,
        }
    if "disable-sending" in outputs["function_names"]:
        expected["disable-sending"] = {
            **logs("disable-sending"),
            "ConfirmTheAllowlistedAlarms": (
                "Allow",
                ("cloudwatch:DescribeAlarms",),
                (here("cloudwatch", f"alarm:{alarm_names['unregistered-recipients-critical']}"),),
                {},
            ),
            "DisableSendingForTheAccount": (
                "Allow",
                ("ses:GetAccountSendingEnabled", "ses:UpdateAccountSendingEnabled"),
                ("*",),
                {},
            ),
            "AnnounceTheBreak": ("Allow", ("sns:Publish",), (outputs["critical_topic_arn"],), {}),
            **database,
            **guard_key,
        }
    return expected


@pytest.mark.parametrize("example", ["complete", "minimal"])
def test_every_role_has_exactly_the_permissions_its_function_needs(plans, deployed, database_secret_arn, example):
    outputs = deployed[example].outputs
    secret = database_secret_arn if example == "minimal" else None
    (key,) = values(plans[example], "aws_kms_key")
    expected = expected_permissions(outputs, NAMES[example], key["arn"], secret)
    assert role_permissions(plans[example], NAMES[example]) == expected


def test_no_role_may_write_the_metrics_the_alarms_watch(plans, deployed):
    outputs = deployed["complete"].outputs
    (alarm,) = [
        alarm
        for alarm in values(plans["complete"], "aws_cloudwatch_metric_alarm")
        if alarm["alarm_name"] == outputs["alarm_names"]["unregistered-recipients-critical"]
    ]
    assert alarm["namespace"] == "SESGuard/ses-guard-complete"
    writers = {
        key: statement[3]
        for key, statements in role_permissions(plans["complete"], NAMES["complete"]).items()
        for statement in statements.values()
        if "cloudwatch:PutMetricData" in statement[1]
    }
    # No role may write the namespace the alarms watch: only the processor's EMF lines land there.
    assert writers == {
        "sync-thresholds": {"StringEquals": {"cloudwatch:namespace": ["SESGuard/ses-guard-complete/Quota"]}},
        "watch-enforcement": {"StringEquals": {"cloudwatch:namespace": ["SESGuard/ses-guard-complete/Enforcement"]}},
    }


def policy_of(plan: List[dict], resource_type: str, attribute: str, value: str) -> dict:
    (found,) = [resource for resource in values(plan, resource_type) if resource[attribute] == value]
    return json.loads(found["policy"])


def service(name: str, source_arn: str) -> Tuple[dict, dict]:
    return {"Service": name}, {
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": name,
        "aws:SourceArn": source_arn,
        "aws:SourceAccount": source_arn.split(":")[4],
    }


def iam_principal(principal_arn: str) -> Tuple[dict, dict]:
    return {"AWS": principal_arn}, {
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": principal_arn.split(":")[4],
        "aws:PrincipalIsAWSService": "false",
    }


ADMIN = f"arn:aws:iam::{ACCOUNT}:role/admin"


def test_only_ses_for_the_guards_sources_reaches_the_events_topic(plans, deployed):
    outputs = deployed["complete"].outputs
    topic = outputs["events_topic_arn"]
    policy = policy_of(plans["complete"], "aws_sns_topic_policy", "arn", topic)
    cases = {
        "SES for the configuration set": (
            service("ses.amazonaws.com", arn("ses", "configuration-set/ses-guard-complete")),
            ALLOW,
        ),
        "SES for the watched identity": (service("ses.amazonaws.com", arn("ses", f"identity/{SENDER}")), ALLOW),
        "SES for another identity": (service("ses.amazonaws.com", arn("ses", "identity/other.example")), DENY),
        "SES of another account": (
            service("ses.amazonaws.com", f"arn:aws:ses:{REGION}:210987654321:configuration-set/ses-guard-complete"),
            DENY,
        ),
        "S3 notifications": (service("s3.amazonaws.com", "arn:aws:s3:::a-bucket"), DENY),
        "an administrator of the account": (iam_principal(ADMIN), DENY),
        "the account root": (iam_principal(f"arn:aws:iam::{ACCOUNT}:root"), DENY),
    }
    results = {case: evaluate(policy, "sns:Publish", topic, *request) for case, (request, _) in cases.items()}
    assert results == {case: outcome for case, (_, outcome) in cases.items()}


def test_only_the_guards_alarms_and_announcers_reach_the_alert_topics(plans, deployed):
    outputs = deployed["complete"].outputs
    roles = {
        role["name"][len("ses-guard-complete-") :]: role["arn"] for role in values(plans["complete"], "aws_iam_role")
    }
    guard_alarm = service(
        "cloudwatch.amazonaws.com", arn("cloudwatch", f"alarm:{outputs['alarm_names']['bounce-rate-critical']}")
    )
    other_alarm = service("cloudwatch.amazonaws.com", arn("cloudwatch", "alarm:someone-elses-alarm"))
    expected = {
        "warning": {
            "guard alarm": ALLOW,
            "other alarm": DENY,
            "admin": DENY,
            "sync-thresholds": NEUTRAL,
            "disable-sending": DENY,
        },
        "critical": {
            "guard alarm": ALLOW,
            "other alarm": DENY,
            "admin": DENY,
            "sync-thresholds": DENY,
            "disable-sending": NEUTRAL,
        },
    }
    for tier, outcomes in expected.items():
        topic = outputs[f"{tier}_topic_arn"]
        policy = policy_of(plans["complete"], "aws_sns_topic_policy", "arn", topic)
        requests = {
            "guard alarm": guard_alarm,
            "other alarm": other_alarm,
            "admin": iam_principal(ADMIN),
            # Neutral: the topic lets the function's own IAM policy decide (it allows only its own topic).
            "sync-thresholds": iam_principal(roles["sync-thresholds"]),
            "disable-sending": iam_principal(roles["disable-sending"]),
        }
        assert {
            case: evaluate(policy, "sns:Publish", topic, *request) for case, request in requests.items()
        } == outcomes, tier


def test_only_the_events_topic_reaches_the_queue(plans, deployed):
    outputs = deployed["complete"].outputs
    queue = arn("sqs", outputs["queue_url"].rsplit("/", 1)[-1])
    policy = policy_of(plans["complete"], "aws_sqs_queue_policy", "queue_url", outputs["queue_url"])
    cases = {
        "SNS delivering the events topic": (service("sns.amazonaws.com", outputs["events_topic_arn"]), ALLOW),
        "SNS delivering another topic": (service("sns.amazonaws.com", arn("sns", "another-topic")), DENY),
        "an administrator of the account": (iam_principal(ADMIN), DENY),
    }
    results = {case: evaluate(policy, "sqs:SendMessage", queue, *request) for case, (request, _) in cases.items()}
    assert results == {case: outcome for case, (_, outcome) in cases.items()}


def test_the_key_serves_only_the_guards_sources_and_log_groups(plans, deployed):
    outputs = deployed["complete"].outputs
    (key,) = values(plans["complete"], "aws_kms_key")
    statements = {statement["Sid"]: statement for statement in json.loads(key["policy"])["Statement"]}
    log_groups = statements["CloudWatchLogsEncryptsTheGuardsLogGroups"]["Condition"]["ArnEquals"]
    assert sorted(as_list(log_groups["kms:EncryptionContext:aws:logs:arn"])) == sorted(
        arn("logs", f"log-group:{group['name']}") for group in values(plans["complete"], "aws_cloudwatch_log_group")
    )
    ses_sources = statements["SESEncryptsTheGuardsEvents"]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(as_list(ses_sources)) == sorted(
        [arn("ses", "configuration-set/ses-guard-complete"), arn("ses", f"identity/{SENDER}")]
    )
    sns_sources = statements["SNSDeliversTheEventsTopic"]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert as_list(sns_sources) == [outputs["events_topic_arn"]]


@pytest.fixture
def forger(aws):
    """Credentials of an IAM user of the same account whose own policy allows everything."""
    iam = aws("iam")
    iam.create_user(UserName="forger")
    iam.put_user_policy(
        UserName="forger",
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="forger")["AccessKey"]
    yield key
    iam.delete_access_key(UserName="forger", AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName="forger", PolicyName="everything")
    iam.delete_user(UserName="forger")


def test_a_forged_event_from_inside_the_account_is_refused(emulator, deployed, forger, aws):
    outputs = deployed["complete"].outputs
    session = boto3.Session(
        aws_access_key_id=forger["AccessKeyId"], aws_secret_access_key=forger["SecretAccessKey"], region_name=REGION
    )
    forged = json.dumps({"eventType": "Send", "mail": {"sendingAccountId": "210987654321", "destination": ["a@b.c"]}})
    with pytest.raises(ClientError) as published:
        session.client("sns", endpoint_url=emulator.endpoint_url).publish(
            TopicArn=outputs["events_topic_arn"], Message=forged
        )
    assert published.value.response["Error"]["Code"] == "AuthorizationError"
    with pytest.raises(ClientError) as sent:
        session.client("sqs", endpoint_url=emulator.endpoint_url).send_message(
            QueueUrl=outputs["queue_url"], MessageBody=forged
        )
    assert sent.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as announced:
        session.client("sns", endpoint_url=emulator.endpoint_url).publish(
            TopicArn=outputs["critical_topic_arn"], Message="ALARM: forged"
        )
    assert announced.value.response["Error"]["Code"] == "AuthorizationError"
    # SES itself, but for an identity the guard does not watch.
    other_identity = arn("ses", "identity/other.example")
    ses = as_service(aws("sns"), "ses.amazonaws.com", other_identity)
    with pytest.raises(ClientError) as foreign:
        ses.publish(TopicArn=outputs["events_topic_arn"], Message=forged)
    assert foreign.value.response["Error"]["Code"] == "AuthorizationError"
    queued = aws("sqs").get_queue_attributes(
        QueueUrl=outputs["queue_url"], AttributeNames=["ApproximateNumberOfMessages"]
    )
    assert queued["Attributes"]["ApproximateNumberOfMessages"] == "0"


def widened(iam_tf: str) -> str:
    """The processor's queue statement widened to every resource, with iam:* on top."""
    widened_text, resources = re.subn(r"(resources\s*=\s*)\[aws_sqs_queue\.events\.arn\]", r'\1["*"]', iam_tf)
    widened_text, actions = re.subn(r'"sqs:GetQueueAttributes"\]', '"sqs:GetQueueAttributes", "iam:*"]', widened_text)
    assert (resources, actions) == (1, 1), "the processor's queue statement moved: update this test"
    return widened_text


def checkov_failures(tree: Path) -> List[str]:
    completed = harness.checkov(tree, "--output", "json")
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    return sorted(
        f"{check['check_id']} {check['resource']}" for r in reports for check in r["results"]["failed_checks"]
    )


def test_checkov_sees_a_widened_function_statement(tmp_path):
    harness.require_toolchain()
    tree = harness.copy_module_tree(tmp_path / "module")
    iam_tf = tree / "modules" / "lambdas" / "iam.tf"
    iam_tf.write_text(widened(iam_tf.read_text()))
    failures = checkov_failures(tree)
    checks = {failure.split()[0] for failure in failures if "module.lambdas." in failure}
    # Write without constraints, "*" for restrictable actions, permissions management.
    assert checks >= {"CKV_AWS_111", "CKV_AWS_356", "CKV_AWS_109"}, failures
