"""The moto extensions in tests/support behave like SES and SQS where the module and the functions
rely on them. Region eu-west-2 keeps these tests apart from the deployed examples."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.support import moto_sesv2
from tests.support.moto_ses import set_send_quota

REGION = "eu-west-2"


@pytest.fixture
def client(emulator):
    def make(service: str):
        return boto3.client(
            service,
            endpoint_url=emulator.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


def send(ses, source="sender@example.com"):
    return ses.send_email(
        Source=source,
        Destination={"ToAddresses": ["someone@example.com"]},
        Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}},
    )


def test_account_sending_flag_stops_and_restarts_sending(client):
    ses = client("ses")
    ses.verify_email_identity(EmailAddress="sender@example.com")
    assert ses.get_account_sending_enabled()["Enabled"] is True
    ses.update_account_sending_enabled(Enabled=False)
    assert ses.get_account_sending_enabled()["Enabled"] is False
    with pytest.raises(ClientError) as refused:
        send(ses)
    assert refused.value.response["Error"]["Code"] == "AccountSendingPausedException"
    ses.update_account_sending_enabled(Enabled=True)
    assert send(ses)["MessageId"]


def test_send_quota_is_settable_over_http_and_in_process(client, emulator):
    ses = client("ses")
    set_send_quota(50000, 14, 1234, region=REGION, endpoint_url=emulator.endpoint_url)
    quota = ses.get_send_quota()
    assert (quota["Max24HourSend"], quota["MaxSendRate"], quota["SentLast24Hours"]) == (50000, 14, 1234)
    # The quota is per region, as in SES: another region keeps moto's 200.
    other_region = boto3.client(
        "ses",
        endpoint_url=emulator.endpoint_url,
        region_name="ap-south-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert other_region.get_send_quota()["Max24HourSend"] == 200
    # The threaded server shares this process's backends, so the in-process setter reaches it too.
    set_send_quota(300, region=REGION)
    assert ses.get_send_quota()["Max24HourSend"] == 300


def test_identity_notifications_report_topics_and_headers(client):
    ses, sns = client("ses"), client("sns")
    topic = sns.create_topic(Name="identity-events")["TopicArn"]
    ses.verify_domain_identity(Domain="example.org")
    for notification_type in ("Bounce", "Complaint"):
        ses.set_identity_notification_topic(Identity="example.org", NotificationType=notification_type, SnsTopic=topic)
    ses.set_identity_headers_in_notifications_enabled(Identity="example.org", NotificationType="Bounce", Enabled=True)
    attributes = ses.get_identity_notification_attributes(Identities=["example.org"])["NotificationAttributes"]
    assert attributes["example.org"]["BounceTopic"] == topic
    assert attributes["example.org"]["ComplaintTopic"] == topic
    assert "DeliveryTopic" not in attributes["example.org"]
    assert attributes["example.org"]["HeadersInBounceNotificationsEnabled"] is True
    assert attributes["example.org"]["HeadersInComplaintNotificationsEnabled"] is False
    ses.set_identity_notification_topic(Identity="example.org", NotificationType="Bounce")
    ses.set_identity_notification_topic(Identity="example.org", NotificationType="Delivery")
    attributes = ses.get_identity_notification_attributes(Identities=["example.org"])["NotificationAttributes"]
    assert "BounceTopic" not in attributes["example.org"]


def test_configuration_set_options_and_event_destinations(client):
    ses, sns = client("ses"), client("sns")
    topic = sns.create_topic(Name="set-events")["TopicArn"]
    ses.create_configuration_set(ConfigurationSet={"Name": "extensions"})
    for name in ("first", "second"):
        ses.create_configuration_set_event_destination(
            ConfigurationSetName="extensions",
            EventDestination={
                "Name": name,
                "Enabled": True,
                "MatchingEventTypes": ["send", "bounce"],
                "SNSDestination": {"TopicARN": topic},
            },
        )
    ses.put_configuration_set_delivery_options(
        ConfigurationSetName="extensions", DeliveryOptions={"TlsPolicy": "Require"}
    )
    ses.update_configuration_set_reputation_metrics_enabled(ConfigurationSetName="extensions", Enabled=True)
    ses.update_configuration_set_sending_enabled(ConfigurationSetName="extensions", Enabled=False)
    described = ses.describe_configuration_set(
        ConfigurationSetName="extensions",
        ConfigurationSetAttributeNames=["eventDestinations", "deliveryOptions", "reputationOptions"],
    )
    assert [d["Name"] for d in described["EventDestinations"]] == ["first", "second"]
    assert described["DeliveryOptions"] == {"TlsPolicy": "Require"}
    assert described["ReputationOptions"] == {"SendingEnabled": False, "ReputationMetricsEnabled": True}

    ses.delete_configuration_set_event_destination(ConfigurationSetName="extensions", EventDestinationName="first")
    described = ses.describe_configuration_set(
        ConfigurationSetName="extensions", ConfigurationSetAttributeNames=["eventDestinations"]
    )
    assert [d["Name"] for d in described["EventDestinations"]] == ["second"]
    with pytest.raises(ClientError) as missing:
        ses.delete_configuration_set_event_destination(ConfigurationSetName="extensions", EventDestinationName="first")
    assert missing.value.response["Error"]["Code"] == "EventDestinationDoesNotExist"
    ses.delete_configuration_set(ConfigurationSetName="extensions")


def test_redrive_policy_reads_back_as_compact_json_like_aws(client):
    sqs = client("sqs")
    dead_letters = sqs.create_queue(QueueName="extensions-dlq")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 3}, separators=(",", ":"))
    queue = sqs.create_queue(QueueName="extensions", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert attributes["RedrivePolicy"] == policy
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=dead_letters, AttributeNames=["All"])["Attributes"]


def test_account_verdict_is_settable_over_http_and_follows_the_sending_flag(client, emulator):
    sesv2 = client("sesv2")
    assert (sesv2.get_account()["EnforcementStatus"], sesv2.get_account()["SendingEnabled"]) == ("HEALTHY", True)
    moto_sesv2.set_account_status(
        "PROBATION",
        review_details={"Status": "PENDING", "CaseId": "42"},
        region=REGION,
        endpoint_url=emulator.endpoint_url,
    )
    client("ses").update_account_sending_enabled(Enabled=False)
    account = sesv2.get_account()
    assert (account["EnforcementStatus"], account["SendingEnabled"]) == ("PROBATION", False)
    assert account["Details"]["ReviewDetails"] == {"Status": "PENDING", "CaseId": "42"}
    client("ses").update_account_sending_enabled(Enabled=True)


def test_suppression_list_pages_like_sesv2(client):
    sesv2 = client("sesv2")
    addresses = [f"gone{n:04d}@example.com" for n in range(2500)]
    for address in addresses[:5]:
        sesv2.put_suppressed_destination(EmailAddress=address, Reason="BOUNCE")
    moto_sesv2.add_suppressed_destinations(
        [(a, "COMPLAINT", datetime(2026, 11, 1, tzinfo=timezone.utc)) for a in addresses[5:]], region=REGION
    )
    seen, pages, token = [], 0, None
    while True:
        page = sesv2.list_suppressed_destinations(PageSize=1000, **({"NextToken": token} if token else {}))
        seen += [s["EmailAddress"] for s in page["SuppressedDestinationSummaries"]]
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert (seen, pages) == (addresses, 3)
    bounces = sesv2.list_suppressed_destinations(Reasons=["BOUNCE"])["SuppressedDestinationSummaries"]
    assert [b["EmailAddress"] for b in bounces] == addresses[:5]
    sesv2.delete_suppressed_destination(EmailAddress=addresses[0])
    with pytest.raises(ClientError) as missing:
        sesv2.get_suppressed_destination(EmailAddress=addresses[0])
    assert missing.value.response["Error"]["Code"] == "NotFoundException"
    found = sesv2.get_suppressed_destination(EmailAddress=addresses[1])["SuppressedDestination"]
    assert found["Reason"] == "BOUNCE"
    with pytest.raises(ClientError, match="BadRequest"):
        sesv2.list_suppressed_destinations(PageSize=1001)
