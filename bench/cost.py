"""What a million SES events cost in AWS charges, for the processor and the simple design, from measured figures.

Unit prices are AWS's public on-demand prices for US East (N. Virginia), x86, without free tiers or volume
tiers. This machine has no internet: they were read from the stored copies of the pages named in PRICES_SOURCE
on PRICES_READ, not from the live price list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Tuple

PRICES_READ = "2026-11-30"
LAMBDA_REQUEST = 0.20 / 1e6
LAMBDA_GB_SECOND = 0.0000166667
SQS_REQUEST = 0.40 / 1e6  # standard queue; every 64 KB of a request's payload is billed as one request
CLOUDWATCH_PUT_METRIC_DATA = 0.01 / 1000
SECRETS_MANAGER_CALL = 0.05 / 10_000
PRICES_SOURCE = (
    'Lambda: aws.amazon.com/lambda/pricing and the AWS whitepaper "How AWS Pricing Works" ($0.20 per million '
    "requests, $0.0000166667 per GB-second); SQS: aws.amazon.com/sqs/pricing as quoted by cloudburn.io (March 2026) "
    "and factualminds.com (June 2026) ($0.40 per million requests, 64 KB chunks); CloudWatch: "
    "aws.amazon.com/cloudwatch/pricing ($0.01 per 1,000 API requests, PutMetricData included); Secrets Manager: "
    "aws.amazon.com/secrets-manager/pricing as quoted by hivebook.wiki ($0.05 per 10,000 API calls)"
)
# "At 1,769 MB, a function has the equivalent of one vCPU" (Lambda developer guide, memory configuration).
MB_PER_VCPU = 1769
SQS_CHUNK_BYTES = 64 * 1024
EVENTS = 1_000_000


@dataclass(frozen=True)
class Design:
    """One design's measured figures: the wall and CPU time one event took, the events of one invocation."""

    name: str
    events_per_invocation: int
    seconds_per_event: float
    cpu_seconds_per_event: float
    sqs_requests_per_invocation: int  # the Lambda poller's ReceiveMessage and DeleteMessageBatch
    sqs_requests_per_event: int  # SNS's SendMessage into the queue
    put_metric_data_per_event: float
    secret_reads_per_invocation: int


def sqs_receive_requests(events_per_invocation: int, body_bytes: int) -> int:
    """ReceiveMessage (billed per 64 KB of the batch) plus one DeleteMessageBatch per 10 messages."""
    return math.ceil(events_per_invocation * body_bytes / SQS_CHUNK_BYTES) + math.ceil(events_per_invocation / 10)


def per_million(design: Design, memory_mb: int) -> List[Tuple[str, str, float]]:
    """(line, quantity, dollars) per million events; a Lambda duration is billed in whole milliseconds."""
    invocations = EVENTS / design.events_per_invocation
    wall_ms = design.seconds_per_event * design.events_per_invocation * 1000
    cpu_ms = design.cpu_seconds_per_event * design.events_per_invocation * 1000
    # The same CPU work on the function's share of a vCPU; waiting (database, AWS calls) is not slowed.
    scaled_ms = cpu_ms * max(MB_PER_VCPU / memory_mb, 1) + max(wall_ms - cpu_ms, 0)
    gb = memory_mb / 1024
    measured_gbs = invocations * math.ceil(wall_ms) / 1000 * gb
    scaled_gbs = invocations * math.ceil(scaled_ms) / 1000 * gb
    sqs = invocations * design.sqs_requests_per_invocation + EVENTS * design.sqs_requests_per_event
    put_metric_data = EVENTS * design.put_metric_data_per_event
    secret_reads = invocations * design.secret_reads_per_invocation
    return [
        ("Lambda invocations", f"{invocations:,.0f}", invocations * LAMBDA_REQUEST),
        ("Lambda duration, as measured here", f"{measured_gbs:,.0f} GB-s ({wall_ms:,.1f} ms an invocation)",
         measured_gbs * LAMBDA_GB_SECOND),
        (f"Lambda duration, CPU time at {memory_mb} MB's share of a vCPU",
         f"{scaled_gbs:,.0f} GB-s ({scaled_ms:,.1f} ms an invocation)", scaled_gbs * LAMBDA_GB_SECOND),
        ("SQS requests", f"{sqs:,.0f}", sqs * SQS_REQUEST),
        ("CloudWatch PutMetricData calls", f"{put_metric_data:,.0f}", put_metric_data * CLOUDWATCH_PUT_METRIC_DATA),
        ("Secrets Manager GetSecretValue calls", f"{secret_reads:,.0f}", secret_reads * SECRETS_MANAGER_CALL),
    ]  # fmt: skip


def totals(lines: List[Tuple[str, str, float]]) -> Tuple[float, float]:
    """Total with the measured duration, and with the CPU-scaled duration (each line counted once)."""
    measured = sum(dollars for line, _, dollars in lines if "CPU time at" not in line)
    scaled = sum(dollars for line, _, dollars in lines if "as measured here" not in line)
    return measured, scaled
