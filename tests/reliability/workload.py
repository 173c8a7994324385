"""A realistic, reproducible stream of SQS records carrying SES events, and what it must leave in the database.

The expected outcome is computed from how the stream was generated (which SES message went to which
recipient, as which event, at what time), never from the code under test.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import List, Set, Tuple

from tests import ses_samples as ses

USERS = {"user1@example.com": 1, "user2@example.com": 2, "user3@example.com": 3}

# (SES message id, recipient as SES spelled it, status, event time)
Fact = Tuple[str, str, str, datetime]


@dataclass
class Stream:
    bodies: List[str] = field(default_factory=list)  # SQS bodies (SNS envelopes), in delivery order
    facts: Set[Fact] = field(default_factory=set)  # every distinct (message, recipient, event)
    unregistered_pairs: Set[Tuple[str, str]] = field(default_factory=set)  # (message, recipient) not users
    redeliveries: int = 0
    dual_path_copies: int = 0


def _recipient_pool(rng: random.Random) -> List[str]:
    count = rng.choice((1, 1, 1, 2, 3))
    pool = []
    for _ in range(count):
        if rng.random() < 0.35:
            pool.append(rng.choice(list(USERS)))
        else:
            pool.append(f"stranger{rng.randrange(2000)}@elsewhere.test")
    return list(dict.fromkeys(pool))


def build_stream(total_records: int = 10_000, redelivery_share: float = 0.30, seed: int = 6) -> Stream:
    """`total_records` SQS records; `redelivery_share` of them are exact redeliveries of earlier records.

    The rest are first deliveries; among those, Delivery/Bounce/Complaint events are often published
    twice by SES: as an identity notification and through event publishing (two SNS messages, one event).
    """
    rng = random.Random(seed)
    stream = Stream()
    firsts: List[str] = []
    wanted_firsts = total_records - int(total_records * redelivery_share)
    base = datetime(2026, 11, 1, 0, 0, 0)
    message_number = 0
    while len(firsts) < wanted_firsts:
        message_number += 1
        message_id = f"0100018c{message_number:08d}-{rng.getrandbits(48):012x}-000000"
        recipients = _recipient_pool(rng)
        sent = base + timedelta(seconds=message_number * 7, milliseconds=rng.randrange(1000))
        outcome = rng.choice(("Delivery", "Delivery", "Delivery", "Bounce", "Complaint"))
        chain = [("Send", sent, False), (outcome, sent + timedelta(milliseconds=rng.randrange(1, 90_000)), True)]
        if outcome == "Delivery" and rng.random() < 0.2:
            chain.append(("Open", chain[1][1] + timedelta(minutes=rng.randrange(1, 600)), False))
        for status, event_time, has_identity_path in chain:
            common = dict(message_id=message_id, sent=sent, event_time=event_time, subject=f"Mail {message_number}")
            copies = [ses.notification(status, recipients, event_publishing=True, **common)]
            if has_identity_path and rng.random() < 0.5:
                copies.append(ses.notification(status, recipients, event_publishing=False, **common))
                stream.dual_path_copies += 1
            firsts.extend(json.dumps(ses.sns_envelope(copy)) for copy in copies)
    firsts = firsts[:wanted_firsts]
    stream.facts = _facts_of(firsts)
    stream.unregistered_pairs = {
        (message, recipient) for (message, recipient, _s, _t) in stream.facts if recipient not in USERS
    }

    # Redeliveries: the identical SQS body again, mostly soon after the first (so it races the original
    # in another worker), sometimes much later (after a visibility timeout).
    order: List[Tuple[float, str]] = [(float(position), body) for position, body in enumerate(firsts)]
    for _ in range(total_records - wanted_firsts):
        position = rng.randrange(len(firsts))
        delay = rng.uniform(0, 300) if rng.random() < 0.8 else rng.uniform(0, len(firsts))
        order.append((position + delay, firsts[position]))
        stream.redeliveries += 1
    order.sort(key=lambda item: item[0])
    stream.bodies = [body for _key, body in order]
    return stream


def _facts_of(bodies: List[str]) -> Set[Fact]:
    """Ground truth from the generated notifications themselves (SES's documented fields)."""
    detail_keys = {"Send": "send", "Delivery": "delivery", "Bounce": "bounce", "Complaint": "complaint", "Open": "open"}
    recipient_lists = {
        "Bounce": ("bouncedRecipients", "emailAddress"),
        "Complaint": ("complainedRecipients", "emailAddress"),
        "Delivery": ("recipients", None),
    }
    facts: Set[Fact] = set()
    for body in bodies:
        message = json.loads(json.loads(body)["Message"])
        status = message.get("eventType") or message.get("notificationType")
        detail = message[detail_keys[status]]
        stamp = datetime.strptime(detail.get("timestamp") or message["mail"]["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        if status in recipient_lists:
            key, field_name = recipient_lists[status]
            recipients = [entry[field_name] if field_name else entry for entry in detail[key]]
        else:
            recipients = message["mail"]["destination"]
        for recipient in recipients:
            facts.add((message["mail"]["messageId"], recipient, status, stamp))
    return facts


def sqs_records(bodies: List[str], prefix: str) -> List[dict]:
    return [{"messageId": f"{prefix}-{n}", "body": body, "eventSource": "aws:sqs"} for n, body in enumerate(bodies)]
