"""Run one ses_guard handler the way Lambda does: a fresh interpreter whose environment is the
function's, the handler imported only then, one event in, the response out.

    python -m tests.terraform.lambda_runner <module.function> <function ARN> <response file> < event.json
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = "wiring-test"


def main() -> None:
    handler_path, function_arn, response_path = sys.argv[1:4]
    module_name, handler_name = handler_path.rsplit(".", 1)
    handler = getattr(importlib.import_module(module_name), handler_name)
    # The deployed function's own ARN: the handlers take their account from it.
    context = LambdaContext(function_arn.rsplit(":", 1)[-1], function_arn)
    response = handler(json.load(sys.stdin), context)
    with open(response_path, "w", encoding="utf-8") as response_file:
        json.dump(response, response_file)


if __name__ == "__main__":
    main()
