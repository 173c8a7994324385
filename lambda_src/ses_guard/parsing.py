"""Turn SES notifications (as SNS or SQS delivered them) into one event per recipient.

Nothing here touches the database or AWS, nor knows Lambda's event shapes (lambda_events.py): each inbound
record either yields recipient events, is skipped (subscription handshakes, unknown types) or raises
InvalidRecord, the one documented per-record failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass, field, make_dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, Mapping, Optional, Tuple

from ses_guard import schema
from ses_guard.addresses import normalize_address
from ses_guard.observability import logger

# Widths of the log columns (schema.py): free text is cut to fit, identifiers must fit.
WIDTHS: Dict[str, int] = {
    column.name: column.type.length for column in schema.EVENT_FIELD_COLUMNS if getattr(column.type, "length", None)
}
# Diagnostic codes are stored as TEXT; past this they are an SMTP server's essay, not a code.
MAX_DIAGNOSTIC = 4000

# RFC 3463 enhanced status code (class.subject.detail) in a diagnosticCode such as "smtp; 550 5.1.1 user
# unknown"; not part of a longer dotted number (an IP address, a version).
_ENHANCED_STATUS_CODE = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")

# eventType/notificationType -> the key holding that event's details.
DETAIL_KEYS: Dict[str, str] = {
    "Send": "send",
    "Delivery": "delivery",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Reject": "reject",
    "DeliveryDelay": "deliveryDelay",
    "Rendering Failure": "failure",
    "Open": "open",
    "Click": "click",
    "Subscription": "subscription",
}

# eventSource of a Lambda event's records: how a record reached the function (see provenance.py).
SQS_SOURCE = "aws:sqs"
SNS_SOURCE = "aws:sns"

_SNS_HANDSHAKES = {"SubscriptionConfirmation", "UnsubscribeConfirmation"}
_SES_HANDSHAKE = "AmazonSnsSubscriptionSucceeded"
_FRACTION = re.compile(r"\.(\d+)")
_SES_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")


class InvalidRecord(ValueError):
    """A record that can never be processed: the batch reports it as failed, so it reaches the DLQ."""


@dataclass(frozen=True)
class InboundRecord:
    """One record of a Lambda event: its SQS id (for batchItemFailures), its raw payload, and how it arrived
    (SQS_SOURCE, SNS_SOURCE, or None for a bare notification, e.g. from a file)."""

    record_id: Optional[str]
    payload: Any
    via: Optional[str] = None


def _event_fields() -> Iterator[tuple]:
    """One field per schema.EVENT_FIELD_COLUMNS column, in its order, the required (NOT NULL) ones first."""
    columns = sorted(schema.EVENT_FIELD_COLUMNS, key=lambda column: column.nullable)
    for column in columns:
        if column.nullable:
            yield column.name, Optional[column.type.python_type], field(default=None)
        else:
            yield column.name, column.type.python_type


@dataclass(frozen=True)
class RecipientEvent(make_dataclass("EventFields", list(_event_fields()), frozen=True)):  # type: ignore[misc]
    """One SES event for one recipient: one row in a log table, a field for each column it fills
    (schema.EVENT_FIELD_COLUMNS: destination_address, timestamp, status, ses_message_id, then the optional
    ones, each None by default)."""

    # Derived once at construction: every stored event needs them, several times.
    recipient_key: str = field(init=False, repr=False, compare=False)
    """How an address is matched against users: case and surrounding whitespace ignored."""
    event_key: str = field(init=False, repr=False, compare=False)
    """Identity of the event whichever path delivered it (identity notification or event publishing)."""
    pair_key: str = field(init=False, repr=False, compare=False)
    """Identity of the (SES message, recipient) pair, counted once in EmailNotRegisteredCount."""
    enhanced_status_code: Optional[str] = field(init=False, repr=False, compare=False)
    """The receiving server's RFC 3463 code in diagnostic_code ("5.1.1"), or None."""

    def __post_init__(self) -> None:
        recipient_key = normalize_address(self.destination_address)
        event_parts = (self.ses_message_id, recipient_key, self.status, self.timestamp.isoformat())
        object.__setattr__(self, "recipient_key", recipient_key)
        object.__setattr__(self, "event_key", _digest(event_parts))
        object.__setattr__(self, "pair_key", _digest((self.ses_message_id, recipient_key)))
        object.__setattr__(self, "enhanced_status_code", enhanced_status_code(self.diagnostic_code))


def _digest(parts: Tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Skipped:
    reason: str


def enhanced_status_code(diagnostic_code: Optional[str]) -> Optional[str]:
    """The first RFC 3463 status code in a diagnostic code: "smtp; 550 5.1.1 user unknown" -> "5.1.1"."""
    match = _ENHANCED_STATUS_CODE.search(diagnostic_code) if diagnostic_code else None
    return match.group(1) if match else None


def parse_record(record: InboundRecord):
    """Recipient events of one record, or Skipped; raises InvalidRecord for a record that can never work."""
    message, sns_message_id = _unwrap(record)
    if not isinstance(message, dict):
        raise InvalidRecord("SES notification is not a JSON object")
    kind = message.get("eventType") or message.get("notificationType")
    if kind == _SES_HANDSHAKE:
        return Skipped("SES test notification sent when the topic was attached")
    if not isinstance(kind, str) or kind not in DETAIL_KEYS:
        return Skipped(f"unknown SES event type {str(kind)[:64]!r}")
    if "eventType" not in message and _names_configuration_set(message):
        # Identity notifications cover all of an identity's mail; what names a configuration set is
        # recorded by that set's own event pipeline, so recording it here too would count it twice.
        return Skipped("identity notification of mail sent through a configuration set")
    return list(_recipient_events(message, kind, sns_message_id))


def _names_configuration_set(message: Mapping) -> bool:
    mail = message.get("mail")
    tags = mail.get("tags") if isinstance(mail, dict) else None
    return isinstance(tags, dict) and bool(_tag(tags, "ses:configuration-set"))


def _unwrap(record: InboundRecord) -> Tuple[Any, Optional[str]]:
    payload = _loads(record.payload, "record body")
    sns_type = payload.get("Type") if isinstance(payload, dict) else None
    if isinstance(sns_type, str) and sns_type in _SNS_HANDSHAKES:
        return {"notificationType": _SES_HANDSHAKE}, None
    if sns_type is not None and "Message" in payload:
        if sns_type != "Notification":
            raise InvalidRecord(f"unexpected SNS message type {str(sns_type)[:64]!r}")
        return _loads(payload["Message"], "SNS Message"), _optional_text(
            payload.get("MessageId"), WIDTHS["aws_sns_message_id"]
        )
    # Raw message delivery: the SES JSON itself, without the SNS message id.
    return payload, None


def _loads(value: Any, what: str) -> Any:
    if isinstance(value, (bytes, str)):
        try:
            return json.loads(value)
        except (ValueError, RecursionError) as error:
            raise InvalidRecord(f"{what} is not valid JSON: {str(error)[:200]}") from None
    return value


def _recipient_events(message: Mapping, kind: str, sns_message_id: Optional[str]) -> Iterator[RecipientEvent]:
    mail = message.get("mail")
    if not isinstance(mail, dict):
        raise InvalidRecord(f"{kind} notification has no 'mail' object")
    ses_message_id = _required_text(mail.get("messageId"), "mail.messageId", WIDTHS["ses_message_id"])
    detail = message.get(DETAIL_KEYS[kind])
    detail = detail if isinstance(detail, dict) else {}
    timestamp = parse_timestamp(detail.get("timestamp") or mail.get("timestamp"))
    tags = mail.get("tags") if isinstance(mail.get("tags"), dict) else {}
    headers = mail.get("commonHeaders") if isinstance(mail.get("commonHeaders"), dict) else {}

    common = {
        "ses_message_id": ses_message_id,
        "status": kind,
        "timestamp": timestamp,
        "aws_sns_message_id": sns_message_id,
        "source_address": _sender(mail.get("source")),
        "subject": _subject(headers.get("subject"), ses_message_id),
        "source_ip": _optional_text(mail.get("sourceIp") or _tag(tags, "ses:source-ip"), WIDTHS["source_ip"]),
        "source_arn": _optional_text(mail.get("sourceArn"), WIDTHS["source_arn"]),
        "caller_identity": _optional_text(
            mail.get("callerIdentity") or _tag(tags, "ses:caller-identity"), WIDTHS["caller_identity"]
        ),
        "sending_account_id": _optional_text(mail.get("sendingAccountId"), WIDTHS["sending_account_id"]),
        "configuration_set": _optional_text(_tag(tags, "ses:configuration-set"), WIDTHS["configuration_set"]),
        "feedback_id": _optional_text(detail.get("feedbackId"), WIDTHS["feedback_id"]),
    }
    if kind == "Bounce":
        common["bounce_type"] = _optional_text(detail.get("bounceType"), WIDTHS["bounce_type"])
        common["bounce_sub_type"] = _optional_text(detail.get("bounceSubType"), WIDTHS["bounce_sub_type"])
    if kind == "Complaint":
        common["complaint_feedback_type"] = _optional_text(
            detail.get("complaintFeedbackType"), WIDTHS["complaint_feedback_type"]
        )
    message_diagnostic = detail.get("reason") or detail.get("errorMessage")

    recipients = list(_recipients(kind, mail, detail))
    if not recipients:
        raise InvalidRecord(f"{kind} notification for {ses_message_id} names no recipients")
    for address, diagnostic in recipients:
        yield RecipientEvent(
            destination_address=address,
            diagnostic_code=_optional_text(diagnostic or message_diagnostic, MAX_DIAGNOSTIC),
            **common,
        )


def _recipients(kind: str, mail: Mapping, detail: Mapping) -> Iterator[Tuple[str, Any]]:
    listed = {
        "Bounce": "bouncedRecipients",
        "Complaint": "complainedRecipients",
        "Delivery": "recipients",
        "DeliveryDelay": "delayedRecipients",
    }.get(kind)
    entries = detail.get(listed) if listed else mail.get("destination")
    if entries is None:
        return
    if not isinstance(entries, list):
        raise InvalidRecord(f"{kind} recipients are not a list")
    for entry in entries:
        if isinstance(entry, dict):
            yield _address(entry.get("emailAddress")), entry.get("diagnosticCode")
        else:
            yield _address(entry), None


def _address(value: Any) -> str:
    address = _required_text(value, "recipient address", WIDTHS["destination_address"])
    if not address.strip():
        raise InvalidRecord("recipient address is empty")
    return address


def _sender(value: Any) -> Optional[str]:
    source = _optional_text(value, 10 * WIDTHS["source_address"])
    if source is None:
        return None
    # Event publishing may give 'Name <addr>'; keep only the address. Anything else is kept verbatim:
    # a full RFC 5322 parse would rewrite odd (possibly hostile) addresses instead of recording them.
    source = source.strip()
    if source.endswith(">") and "<" in source:
        source = source[source.rindex("<") + 1 : -1].strip() or source
    return source[: WIDTHS["source_address"]]


def _subject(value: Any, ses_message_id: str) -> Optional[str]:
    subject = _optional_text(value, None)
    limit = WIDTHS["subject"]
    if subject is not None and len(subject) > limit:
        logger.warning(
            "subject truncated to fit the column",
            extra={"ses_message_id": ses_message_id, "subject_length": len(subject), "kept": limit},
        )
        subject = subject[:limit]
    return subject


def _tag(tags: Mapping, name: str) -> Any:
    value = tags.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _is_unicode(value: str) -> bool:
    """False for strings JSON allows but UTF-8 cannot store (lone surrogates such as "\\ud800")."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _required_text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRecord(f"{what} is missing or not a string")
    if len(value) > limit:
        raise InvalidRecord(f"{what} is longer than {limit} characters")
    if not _is_unicode(value):
        raise InvalidRecord(f"{what} is not valid Unicode")
    return value


def _optional_text(value: Any, limit: Optional[int]) -> Optional[str]:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    if not _is_unicode(value):
        # Free text is kept, with the unstorable code points replaced.
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value if limit is None else value[:limit]


def parse_timestamp(value: Any) -> datetime:
    """An SES ISO 8601 timestamp as a naive UTC datetime at millisecond precision (as stored)."""
    if not isinstance(value, str):
        raise InvalidRecord("event has no timestamp")
    if _SES_TIMESTAMP.match(value):
        # SES's own shape, 2016-01-27T14:59:38.237Z: already UTC and milliseconds.
        with contextlib.suppress(ValueError):  # an impossible date is reported below
            return datetime.fromisoformat(value[:-1])
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    # Python 3.9's fromisoformat accepts only 3 or 6 fractional digits.
    text = _FRACTION.sub(lambda match: "." + (match.group(1) + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidRecord(f"timestamp {value[:64]!r} is not an ISO 8601 time in UTC's calendar") from None
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)
