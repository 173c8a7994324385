"""Where a message comes from: only SES of this account, through the guard's own topic, reaches the database.

Policies on the topic and the queue keep other principals out in AWS; these checks are the second wall, for a
principal of the same account whose own IAM policy allows sns:Publish or sqs:SendMessage on "*".
What is checked:
- a record that arrived through SQS carries the SNS envelope of the events topic (EVENTS_TOPIC_ARN; without
  that setting, of a topic in the expected account, when the account is known);
- a record that arrived from an SNS trigger names the events topic (the same rule);
- every event's mail.sendingAccountId is the expected account: the function's own account in Lambda,
  SENDING_ACCOUNT_ID for the CLI (without it, `ses-guard replay` checks no account).
A record that arrived by neither path (the CLI's files of bare notifications) is checked for its account only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, List, Mapping, Optional, Union

from ses_guard.parsing import SNS_SOURCE, SQS_SOURCE, InboundRecord, RecipientEvent, Skipped
from ses_guard.settings import ProcessorSettings

_ARN_PARTS = 6  # arn:partition:service:region:account:resource


class Foreign(ValueError):
    """A record that did not come from SES of this account through the events topic: dropped, never retried."""


@dataclass(frozen=True)
class Home:
    """Where the guard runs: the partition, region and account whose SES events and alarms it trusts."""

    partition: str
    region: str
    account_id: str

    @classmethod
    def of_arn(cls, arn: str) -> Home:
        """The home of a resource (the Lambda context's invoked_function_arn)."""
        parts = arn.split(":", _ARN_PARTS - 1)
        if len(parts) != _ARN_PARTS or parts[0] != "arn" or not parts[4]:
            raise ValueError(f"{arn!r} is not an ARN")
        return cls(partition=parts[1], region=parts[3], account_id=parts[4])

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"


@dataclass(frozen=True)
class Source:
    """What the processor accepts: SES events of account_id, through events_topic_arn. None checks nothing."""

    account_id: Optional[str] = None
    events_topic_arn: Optional[str] = None

    @classmethod
    def of(cls, settings: ProcessorSettings, account_id: Optional[str] = None) -> Source:
        """account_id: the function's own account in Lambda; the CLI passes none and SENDING_ACCOUNT_ID applies."""
        return cls(account_id=account_id or settings.sending_account_id, events_topic_arn=settings.events_topic_arn)

    def topic_problem(self, topic_arn: Any) -> Optional[str]:
        if not isinstance(topic_arn, str):
            return "no SNS topic named"
        if self.events_topic_arn is not None:
            if topic_arn != self.events_topic_arn:
                return f"topic {topic_arn[:256]!r} is not the events topic"
        elif self.account_id is not None and topic_arn.split(":")[4:5] != [self.account_id]:
            return f"topic {topic_arn[:256]!r} is not in account {self.account_id}"
        return None


def admit(record: InboundRecord, source: Source) -> InboundRecord:
    """The record, if it came through the expected path; raises Foreign otherwise.

    An SQS body that is not JSON is let through for the parser to reject (a failed record, in the DLQ for an
    operator to see); a JSON body is returned parsed, so that it is not parsed twice.
    """
    if record.via == SNS_SOURCE:
        problem = source.topic_problem(record.payload.get("TopicArn"))
    elif record.via == SQS_SOURCE:
        try:
            envelope = json.loads(record.payload) if isinstance(record.payload, (str, bytes)) else record.payload
        except (ValueError, RecursionError):
            return record
        if not isinstance(envelope, Mapping) or "Message" not in envelope:
            raise Foreign("SQS message is not an SNS notification (raw or hand-made message)")
        problem = source.topic_problem(envelope.get("TopicArn"))
        record = replace(record, payload=envelope)
    else:
        return record
    if problem:
        raise Foreign(problem)
    return record


def check_account(parsed: Union[List[RecipientEvent], Skipped], source: Source) -> None:
    """Raises Foreign unless every event was sent by the expected account (mail.sendingAccountId)."""
    if source.account_id is None or isinstance(parsed, Skipped):
        return
    for event in parsed:
        if event.sending_account_id != source.account_id:
            raise Foreign(f"mail.sendingAccountId is {event.sending_account_id!r}, not {source.account_id}")
