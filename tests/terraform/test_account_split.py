"""The account part and the application part (issue 10), applied to moto with Terraform 1.0.3 and aws 3.39.0:

* examples/multi-app (the shop owns the account part, the newsletter is an application only, both send
  from one identity): one set of account-wide alarms, one quota sync, one breaker; each application's
  mail lands only in its own database, mail naming no configuration set only in the owner's; a second
  owner in the account fails; a second plan is clean; destroying the newsletter leaves the shop intact.
* Upgrading: a root applied with the module as of commit 68536f0 and then switched to this checkout
  plans no destroy and no replacement.

Each runs in an emulator account of its own (one account and region holds one owner). The tests run in
file order."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests import ses_samples
from tests.support.moto_policies import as_service
from tests.terraform import harness
from tests.terraform.lambda_emulation import invoke_like_lambda, receive_all, ses_guard_cli, sqs_lambda_event

MULTI_APP_ACCOUNT = "345678901234"
UPGRADE_ACCOUNT = "456789012345"
# The module as released before the account/application split; the upgrade starts from it.
UPGRADE_FROM = "68536f0"
SENDER = "noreply@example.com"
MARKER = "/ses-reputation-guard/account-owner"
OWNER, APPLICATION = "shop", "newsletter"


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    directory = tmp_path_factory.mktemp("split-databases")
    return {application: f"sqlite:///{directory / application}.db" for application in (OWNER, APPLICATION)}


def module_tree_at(commit: str, destination: Path) -> Path:
    """The repository's files as of `commit`, from its own history."""
    archived = subprocess.run(["git", "-C", str(harness.REPO), "archive", commit], capture_output=True)
    if archived.returncode != 0:
        pytest.fail(
            f"commit {commit} is not in this clone's history ({archived.stderr.decode().strip()}): "
            "run `git fetch --unshallow`",
            pytrace=False,
        )
    with tarfile.open(fileobj=io.BytesIO(archived.stdout)) as archive:
        archive.extractall(destination, filter="data")
    return destination


@pytest.fixture(scope="module")
def split(emulator, databases, tmp_path_factory):
    """examples/multi-app and the upgrade's starting point (examples/complete as of 68536f0), applied
    side by side; destroyed after the module's tests unless a test destroyed them already."""
    harness.require_toolchain()
    tree = harness.copy_module_tree(tmp_path_factory.mktemp("split-module"))
    old_tree = module_tree_at(UPGRADE_FROM, tmp_path_factory.mktemp(f"module-{UPGRADE_FROM}"))
    deployments = {
        "multi-app": harness.prepare_example(
            tree,
            "multi-app",
            emulator.endpoint_url,
            {
                "sender_address": SENDER,
                "shop_database_url": databases[OWNER],
                "newsletter_database_url": databases[APPLICATION],
            },
            tmp_path_factory.mktemp("terraform-multi-app"),
            account_id=MULTI_APP_ACCOUNT,
            module_names=(OWNER, APPLICATION),
        ),
        "upgrade": harness.prepare_example(
            old_tree,
            "complete",
            emulator.endpoint_url,
            {
                "sender_address": SENDER,
                "alert_email": "oncall@example.com",
                "alert_phone_number": "+15555550100",
                "database_url": f"sqlite:///{tmp_path_factory.mktemp('upgrade') / 'guard.db'}",
            },
            tmp_path_factory.mktemp("terraform-upgrade"),
            account_id=UPGRADE_ACCOUNT,
        ),
    }
    with harness.applied_side_by_side(deployments):
        yield deployments


@pytest.fixture(scope="module")
def multi_app(split):
    return split["multi-app"]


def in_account(aws, service):
    return aws(service, MULTI_APP_ACCOUNT)


def applications(multi_app):
    return multi_app.outputs["applications"]


def test_the_account_part_exists_once(aws, multi_app):
    owner, application = applications(multi_app)[OWNER], applications(multi_app)[APPLICATION]
    marker = in_account(aws, "ssm").get_parameter(Name=MARKER)["Parameter"]
    assert marker["Value"] == multi_app.outputs["account"]["owner"] == "ses-guard-shop"

    functions = sorted(f["FunctionName"] for f in in_account(aws, "lambda").list_functions()["Functions"])
    assert functions == sorted(
        [
            *(
                f"ses-guard-{app}-{key}"
                for app in (OWNER, APPLICATION)
                for key in ("process-events", "suppress-bouncing-users")
            ),
            "ses-guard-shop-sync-thresholds",
            "ses-guard-shop-watch-enforcement",
            "ses-guard-shop-disable-sending",
        ]
    )
    assert sorted(owner["function_names"]) == [
        "disable-sending",
        "process-events",
        "suppress-bouncing-users",
        "sync-thresholds",
        "watch-enforcement",
    ]

    alarms = in_account(aws, "cloudwatch").describe_alarms()["MetricAlarms"]
    account_wide = sorted(
        (alarm["MetricName"], alarm["AlarmName"])
        for alarm in alarms
        if alarm.get("Namespace") == "AWS/SES" and not alarm["Dimensions"]
    )
    assert account_wide == sorted(
        (metric, f"ses-guard-shop-{kind}-{tier}")
        for metric, kind in (
            ("Send", "send-count"),
            ("Reputation.BounceRate", "bounce-rate"),
            ("Reputation.ComplaintRate", "complaint-rate"),
        )
        for tier in ("warning", "critical")
    )
    enforcement = [
        alarm["AlarmName"] for alarm in alarms if alarm["AlarmName"].endswith("-account-enforcement-critical")
    ]
    assert enforcement == [owner["alarm_names"]["account-enforcement-critical"]]
    # Each application watches its own configuration set's rates, on its own topics.
    for outputs in (owner, application):
        dimension = {"Name": "ses:configuration-set", "Value": outputs["configuration_set_name"]}
        per_set = [alarm for alarm in alarms if alarm.get("Dimensions") == [dimension]]
        assert sorted(alarm["MetricName"] for alarm in per_set) == sorted(
            ["Reputation.BounceRate"] * 2 + ["Reputation.ComplaintRate"] * 2
        )
        assert {alarm["AlarmName"] for alarm in per_set} <= set(outputs["alarm_names"].values())
        assert {action for alarm in per_set for action in alarm["AlarmActions"]} == {
            outputs["warning_topic_arn"],
            outputs["critical_topic_arn"],
        }

    # The shared identity's notifications go to the owner's pipeline only.
    attributes = in_account(aws, "ses").get_identity_notification_attributes(Identities=[SENDER])
    for kind in ("Bounce", "Complaint", "Delivery"):
        assert attributes["NotificationAttributes"][SENDER][f"{kind}Topic"] == owner["events_topic_arn"]


def topics_ses_publishes_to(ses, message):
    """Where SES sends this notification in the deployed account: a configuration set's event goes to
    that set's enabled destinations for its type, an identity notification to the identity's topic."""
    if "eventType" in message:
        (set_name,) = message["mail"]["tags"]["ses:configuration-set"]
        destinations = ses.describe_configuration_set(
            ConfigurationSetName=set_name, ConfigurationSetAttributeNames=["eventDestinations"]
        )["EventDestinations"]
        return [
            destination["SNSDestination"]["TopicARN"]
            for destination in destinations
            if destination["Enabled"] and message["eventType"].lower() in destination["MatchingEventTypes"]
        ]
    identity = message["mail"]["source"]
    attributes = ses.get_identity_notification_attributes(Identities=[identity])["NotificationAttributes"][identity]
    return [attributes[f"{message['notificationType']}Topic"]]


@pytest.fixture
def paused_event_source_mappings(aws, multi_app):
    lambda_client = in_account(aws, "lambda")
    uuids = [outputs["event_source_mapping_id"] for outputs in applications(multi_app).values()]
    for uuid in uuids:
        lambda_client.update_event_source_mapping(UUID=uuid, Enabled=False)
    yield
    for uuid in uuids:
        lambda_client.update_event_source_mapping(UUID=uuid, Enabled=True)


def test_each_application_records_only_its_own_mail(
    aws, emulator, multi_app, databases, paused_event_source_mappings, tmp_path
):
    outputs = applications(multi_app)
    sets = {app: outputs[app]["configuration_set_name"] for app in (OWNER, APPLICATION)}
    shop_order = ses_samples.notification(
        "Delivery", ["customer@elsewhere.test"], event_publishing=True, tags={"ses:configuration-set": [sets[OWNER]]}
    )
    newsletter_issue = ses_samples.notification(
        "Delivery",
        ["reader@elsewhere.test"],
        event_publishing=True,
        tags={"ses:configuration-set": [sets[APPLICATION]]},
    )
    # The identity's own notification of the newsletter's mail: SES sends it too, to the owner.
    newsletter_issue_for_the_identity = ses_samples.notification(
        "Delivery", ["reader@elsewhere.test"], message_id=newsletter_issue["mail"]["messageId"]
    )
    newsletter_issue_for_the_identity["mail"]["tags"] = {"ses:configuration-set": [sets[APPLICATION]]}
    # Mail naming no configuration set, as leaked credentials send it.
    leaked = ses_samples.notification("Delivery", ["victim@elsewhere.test"], source_ip=ses_samples.ATTACKER_IP)

    ses, sns = in_account(aws, "ses"), in_account(aws, "sns")
    for message in (shop_order, newsletter_issue, newsletter_issue_for_the_identity, leaked):
        message["mail"]["sendingAccountId"] = MULTI_APP_ACCOUNT
        # The events topics let only SES publish, for a configuration set or a watched identity.
        source = (
            f"configuration-set/{message['mail']['tags']['ses:configuration-set'][0]}"
            if "eventType" in message
            else f"identity/{message['mail']['source']}"
        )
        as_ses = as_service(sns, "ses.amazonaws.com", f"arn:aws:ses:{harness.REGION}:{MULTI_APP_ACCOUNT}:{source}")
        for topic_arn in topics_ses_publishes_to(ses, message):
            as_ses.publish(TopicArn=topic_arn, Message=json.dumps(message))

    sqs, lambda_client = in_account(aws, "sqs"), in_account(aws, "lambda")
    recorded = {}
    for app, expected_messages in ((OWNER, 3), (APPLICATION, 1)):
        ses_guard_cli("db", "upgrade", database_url=databases[app])
        ses_guard_cli("db", "init-demo", database_url=databases[app])  # the application's users table
        queue_url = outputs[app]["queue_url"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        messages = receive_all(sqs, queue_url, expected=expected_messages + 1)
        assert len(messages) == expected_messages, app
        configuration = lambda_client.get_function_configuration(
            FunctionName=outputs[app]["function_names"]["process-events"]
        )
        assert configuration["Environment"]["Variables"]["DATABASE_URL"] == databases[app]
        response, _ = invoke_like_lambda(
            configuration, sqs_lambda_event(messages, queue_arn, harness.REGION), emulator.endpoint_url, tmp_path
        )
        assert response == {"batchItemFailures": []}
        engine = create_engine(databases[app])
        with engine.connect() as connection:
            recorded[app] = sorted(
                tuple(row)
                for row in connection.execute(text("SELECT destination_address, status FROM unvalidated_email_log"))
            )
        engine.dispose()

    # The newsletter's mail once, in its own database; the owner has its own mail and the leak.
    assert recorded == {
        OWNER: [("customer@elsewhere.test", "Delivery"), ("victim@elsewhere.test", "Delivery")],
        APPLICATION: [("reader@elsewhere.test", "Delivery")],
    }


def test_a_second_owner_in_the_account_fails_its_apply(aws, emulator, split, tmp_path):
    # The owner marker the root module creates with account_resources = "create", tried once more.
    root = tmp_path / "second-owner"
    root.mkdir()
    (root / "main.tf").write_text(
        harness.emulator_provider(emulator.endpoint_url)
        + f"""
module "second_owner" {{
  source = "{Path(split["multi-app"].runner.module_dir).parents[1] / "modules" / "account"}"
  owner  = "ses-guard-intruder"
}}
"""
    )
    (tmp_path / "work").mkdir()
    runner = harness.EmulatorTerraformRunner(
        root, tmp_path / "work", harness.account_credentials(emulator.endpoint_url, MULTI_APP_ACCOUNT)
    )
    runner.init()
    with pytest.raises(subprocess.CalledProcessError):
        runner.apply_configuration()
    assert "ParameterAlreadyExists" in runner.last_output()
    assert in_account(aws, "ssm").get_parameter(Name=MARKER)["Parameter"]["Value"] == "ses-guard-shop"


def test_a_second_plan_shows_no_changes(multi_app):
    assert multi_app.plan_exit_code() == 0, f"examples/multi-app drifts after apply:\n{multi_app.runner.last_output()}"


def test_destroying_an_application_leaves_the_owner_intact(aws, multi_app):
    owner = applications(multi_app)[OWNER]
    assert multi_app.runner.targeted("destroy", f"module.{APPLICATION}") == 0, multi_app.runner.last_output()

    functions = [f["FunctionName"] for f in in_account(aws, "lambda").list_functions()["Functions"]]
    assert sorted(functions) == sorted(f"ses-guard-shop-{key}" for key in owner["function_names"])
    attributes = in_account(aws, "ses").get_identity_notification_attributes(Identities=[SENDER])
    for kind in ("Bounce", "Complaint", "Delivery"):
        assert attributes["NotificationAttributes"][SENDER][f"{kind}Topic"] == owner["events_topic_arn"]
    alarm_names = list(owner["alarm_names"].values())
    remaining = in_account(aws, "cloudwatch").describe_alarms(AlarmNames=alarm_names)["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in remaining) == sorted(alarm_names)
    assert in_account(aws, "ssm").get_parameter(Name=MARKER)["Parameter"]["Value"] == "ses-guard-shop"
    assert multi_app.runner.targeted("plan", f"module.{OWNER}") == 0, multi_app.runner.last_output()


def test_upgrading_from_68536f0_destroys_and_replaces_nothing(aws, split, tmp_path):
    upgrade = split["upgrade"]
    example = Path(upgrade.runner.module_dir)
    old_tree = example.parents[1]
    # The same root, now with this checkout's module (the root's own files stay as they were).
    shutil.rmtree(old_tree / "modules")
    for tf_file in old_tree.glob("*.tf"):
        tf_file.unlink()
    shutil.copytree(harness.REPO / "modules", old_tree / "modules")
    for tf_file in harness.REPO.glob("*.tf"):
        shutil.copy2(tf_file, old_tree / tf_file.name)
    upgrade.init()

    plan = upgrade.runner.planned_changes(tmp_path / "upgrade.plan")
    changes = {change["address"]: change["change"]["actions"] for change in plan["resource_changes"]}
    lost = {address: actions for address, actions in changes.items() if "delete" in actions}
    assert lost == {}, f"upgrading from {UPGRADE_FROM} would destroy or replace these"
    # The plan is the new module's: the owner marker is new.
    assert changes["module.ses_guard.module.account.aws_ssm_parameter.owner[0]"] == ["create"]
