"""SQS answers moto 5.2.5 gives differently from AWS, patched so Terraform sees no false drift.

AWS returns a queue's RedrivePolicy attribute as compact JSON, the way Terraform's jsonencode()
writes it; moto pads it with spaces, which the aws provider 3.39 reports as a change on every plan.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from moto.sqs.models import Queue


def apply() -> None:
    """Patch moto's SQS queue attributes; calling it again changes nothing."""
    if getattr(Queue, "_ses_guard_extended", False):
        return
    aws_style_attributes = Queue.attributes.fget

    def attributes(self: Queue) -> Dict[str, Any]:
        result = aws_style_attributes(self)
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    Queue.attributes = property(attributes)
    Queue._ses_guard_extended = True
