"""SES notifications as SES sends them (both formats), their SNS/SQS wrappings, and the seed's scenarios.

Shapes follow the SES developer guide's notification and event-publishing examples.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Sequence

ACCOUNT = "123456789012"
SENDER = "noreply@example.com"
SOURCE_ARN = f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/example.com"
APP_IP = "203.0.113.10"
ATTACKER_IP = "198.51.100.66"

MAILBOX_FULL = "smtp; 552 5.2.2 Mailbox full"
USER_UNKNOWN = "smtp; 550 5.1.1 user unknown"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _mail(message_id, destination, sent, subject, source, source_ip, tags, event_publishing):
    mail = {
        "timestamp": iso(sent),
        "source": f"Example App <{source}>" if event_publishing else source,
        "sourceArn": SOURCE_ARN,
        "sendingAccountId": ACCOUNT,
        "messageId": message_id,
        "destination": list(destination),
        "headersTruncated": False,
        "headers": [{"name": "From", "value": source}, {"name": "Subject", "value": subject or ""}],
        "commonHeaders": {"from": [source], "to": list(destination), "messageId": message_id},
    }
    if subject is not None:
        mail["commonHeaders"]["subject"] = subject
    if event_publishing:
        mail["tags"] = {
            "ses:configuration-set": ["ses-guard"],
            "ses:source-ip": [source_ip],
            "ses:from-domain": ["example.com"],
            "ses:caller-identity": ["app-sender"],
            **(tags or {}),
        }
    else:
        mail["sourceIp"] = source_ip
        mail["callerIdentity"] = "app-sender"
    return mail


def notification(
    kind: str,
    recipients: Sequence[str],
    *,
    event_publishing: bool = False,
    message_id: Optional[str] = None,
    sent: Optional[datetime] = None,
    event_time: Optional[datetime] = None,
    subject: Optional[str] = "Please validate your email",
    source: str = SENDER,
    source_ip: str = APP_IP,
    diagnostic: str = USER_UNKNOWN,
    bounce_type: str = "Permanent",
    bounce_sub_type: str = "General",
    destination: Optional[Sequence[str]] = None,
    tags: Optional[Dict[str, List[str]]] = None,
) -> dict:
    """An SES notification of `kind` for `recipients`: identity-notification format unless event_publishing."""
    sent = sent or datetime(2026, 11, 1, 9, 0, 0, 123000)
    event_time = event_time or sent + timedelta(seconds=2)
    message_id = message_id or f"0100018{uuid.uuid4().hex}-000000"
    mail = _mail(message_id, destination or recipients, sent, subject, source, source_ip, tags, event_publishing)
    body: dict = {("eventType" if event_publishing else "notificationType"): kind, "mail": mail}
    if kind == "Bounce":
        body["bounce"] = {
            "bounceType": bounce_type,
            "bounceSubType": bounce_sub_type,
            "bouncedRecipients": [
                {"emailAddress": r, "action": "failed", "status": "5.1.1", "diagnosticCode": diagnostic}
                for r in recipients
            ],
            "timestamp": iso(event_time),
            "feedbackId": f"feedback-{message_id}",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        }
    elif kind == "Complaint":
        body["complaint"] = {
            "complainedRecipients": [{"emailAddress": r} for r in recipients],
            "timestamp": iso(event_time),
            "feedbackId": f"feedback-{message_id}",
            "complaintFeedbackType": "abuse",
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
        }
    elif kind == "Delivery":
        body["delivery"] = {
            "timestamp": iso(event_time),
            "processingTimeMillis": 546,
            "recipients": list(recipients),
            "smtpResponse": "250 ok",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    elif kind == "DeliveryDelay":
        body["deliveryDelay"] = {
            "timestamp": iso(event_time),
            "delayType": "TransientCommunicationFailure",
            "expirationTime": iso(event_time + timedelta(hours=12)),
            "delayedRecipients": [
                {"emailAddress": r, "status": "4.4.1", "diagnosticCode": "smtp; 421 4.4.1 Unable to connect"}
                for r in recipients
            ],
        }
    elif kind == "Send":
        body["send"] = {}
    elif kind == "Reject":
        body["reject"] = {"reason": "Bad content"}
    elif kind == "Rendering Failure":
        body["failure"] = {"errorMessage": "Attribute 'name' is not present", "templateName": "welcome"}
    elif kind == "Open":
        body["open"] = {"timestamp": iso(event_time), "ipAddress": "192.0.2.1", "userAgent": "Mozilla/5.0"}
    elif kind == "Click":
        body["click"] = {
            "timestamp": iso(event_time),
            "ipAddress": "192.0.2.1",
            "link": "https://example.com/v",
            "linkTags": {},
            "userAgent": "Mozilla/5.0",
        }
    elif kind == "Subscription":
        body["subscription"] = {
            "timestamp": iso(event_time),
            "contactList": "news",
            "source": "UnsubscribeHeader",
            "newTopicPreferences": {},
            "oldTopicPreferences": {},
        }
    else:
        raise ValueError(kind)
    return body


IDENTITY_KINDS = ("Bounce", "Complaint", "Delivery")
EVENT_KINDS = (
    "Send",
    "Delivery",
    "Bounce",
    "Complaint",
    "Reject",
    "DeliveryDelay",
    "Rendering Failure",
    "Open",
    "Click",
    "Subscription",
)


def sns_envelope(message, message_id: Optional[str] = None, topic_arn: Optional[str] = None) -> dict:
    return {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": topic_arn or f"arn:aws:sns:us-east-1:{ACCOUNT}:ses-guard-events",
        "Message": message if isinstance(message, str) else json.dumps(message),
        "Timestamp": "2026-11-01T09:00:03.000Z",
        "SignatureVersion": "1",
    }


def sqs_event(bodies: Sequence) -> dict:
    """An SQS-triggered Lambda event; each body is a dict (sent as JSON) or a raw string."""
    return {
        "Records": [
            {
                "messageId": f"sqs-{index}-{uuid.uuid4().hex[:8]}",
                "receiptHandle": "handle",
                "body": body if isinstance(body, str) else json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:{ACCOUNT}:ses-guard-events",
                "awsRegion": "us-east-1",
            }
            for index, body in enumerate(bodies)
        ]
    }


def sns_event(messages: Sequence, message_id: Optional[str] = None, topic_arn: Optional[str] = None) -> dict:
    """An SNS-triggered Lambda event (SNS sends one record per invocation)."""
    topic_arn = topic_arn or f"arn:aws:sns:us-east-1:{ACCOUNT}:ses-guard-events"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Message": message if isinstance(message, str) else json.dumps(message),
                    "Timestamp": "2026-11-01T09:00:03.000Z",
                },
            }
            for message in messages
        ]
    }


def scenario_message_id(scenario: int, number: int) -> str:
    """Stable SES-shaped message ids, so the committed example files can be regenerated identically."""
    return f"010001{scenario:02d}{number:04d}5eed0000-0000-0000-0000-000000000000-000000"


def scenario_1() -> List[dict]:
    """Three validation emails: user1 and user2 delivered, user3 bounced (mailbox unknown)."""
    base = datetime(2026, 11, 1, 9, 0, 0)
    return [
        notification("Delivery", ["user1@example.com"], sent=base, message_id=scenario_message_id(1, 1)),
        notification(
            "Delivery", ["user2@example.com"], sent=base + timedelta(minutes=1), message_id=scenario_message_id(1, 2)
        ),
        notification(
            "Bounce",
            ["user3@example.com"],
            sent=base + timedelta(minutes=2),
            diagnostic=USER_UNKNOWN,
            message_id=scenario_message_id(1, 3),
        ),
    ]


def scenario_2(now: datetime) -> List[dict]:
    """Five marketing emails over the last month; user3's mailbox is full each time."""
    events = []
    for week in range(5):
        sent = now - timedelta(days=28 - 6 * week)
        for user in ("user1", "user2"):
            events.append(
                notification(
                    "Delivery",
                    [f"{user}@example.com"],
                    sent=sent,
                    subject=f"News #{week + 1}",
                    message_id=scenario_message_id(2, len(events) + 1),
                )
            )
        events.append(
            notification(
                "Bounce",
                ["user3@example.com"],
                sent=sent,
                subject=f"News #{week + 1}",
                bounce_type="Transient",
                bounce_sub_type="MailboxFull",
                diagnostic=MAILBOX_FULL,
                message_id=scenario_message_id(2, len(events) + 1),
            )
        )
    return events


# The committed scenario2.jsonl is the month of newsletters up to this moment (November 2026).
SCENARIO_2_EXAMPLE_NOW = datetime(2026, 11, 29, 9, 0, 0)


def scenario_3() -> List[dict]:
    """Leaked credentials: ten phishing emails to addresses that are not users, from a foreign IP."""
    base = datetime(2026, 11, 20, 3, 14, 0)
    return [
        notification(
            "Delivery",
            [f"victim{n}@elsewhere.test"],
            sent=base + timedelta(seconds=n),
            subject="Your account is locked",
            source_ip=ATTACKER_IP,
            message_id=scenario_message_id(3, n),
        )
        for n in range(1, 11)
    ]


def example_files() -> Dict[str, str]:
    """The committed examples/events files: JSON lines of SES notifications, as SNS delivers them."""

    def lines(notifications: List[dict]) -> str:
        return "".join(json.dumps(n, sort_keys=True) + "\n" for n in notifications)

    return {
        "scenario1.jsonl": lines(scenario_1()),
        "scenario2.jsonl": lines(scenario_2(SCENARIO_2_EXAMPLE_NOW)),
        "scenario3.jsonl": lines(scenario_3()),
    }


if __name__ == "__main__":
    import sys
    from pathlib import Path

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/events")
    target.mkdir(parents=True, exist_ok=True)
    for name, content in example_files().items():
        (target / name).write_text(content, encoding="utf-8")
