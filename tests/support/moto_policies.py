"""Topic and queue policies that moto 5.2.5 stores but never evaluates, evaluated for direct callers.

moto evaluates resource policies only for S3 buckets: an SNS topic's or SQS queue's policy is kept and
returned, but Publish and SendMessage succeed whatever it says. This extension evaluates them for requests
that reach the emulator's API (sns:Publish, sqs:SendMessage and SendMessageBatch), with the request context
AWS would give a principal of an account calling directly: aws:PrincipalArn (the IAM user or assumed role
of the access key, else the account root), aws:PrincipalAccount, aws:PrincipalIsAWSService = false, and no
aws:SourceArn or aws:SourceAccount. A client that :func:`as_service` marks stands for a service principal
instead (SES, CloudWatch), with that service's aws:SourceArn and aws:SourceAccount. An explicit Deny that
matches refuses the request as AWS would (AuthorizationError, AccessDenied).

What it does not do: evaluate identity policies, permission boundaries, SCPs or KMS key policies; refuse a
request for lack of an Allow (a same-account principal whose own policy allows the action needs none);
evaluate deliveries moto makes internally (SNS to its SQS subscribers), whose context only AWS knows;
support condition operators other than those in OPERATORS. :func:`evaluate` is exposed so that tests can
evaluate the same policies with the context of a service principal (SES, CloudWatch, SNS).
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from moto.core.exceptions import ServiceException
from moto.iam.models import get_account_id_from, iam_backends
from moto.sns.responses import SNSResponse
from moto.sqs.responses import SQSResponse
from moto.sts.models import sts_backends

ALLOW, DENY, NEUTRAL = "Allow", "Deny", "Neutral"
# Set by as_service(): the request stands for a service principal's, which no access key can sign.
SERVICE_HEADER = "x-ses-guard-emulated-service"
SOURCE_ARN_HEADER = "x-ses-guard-emulated-source-arn"


def _strings(value: Any) -> List[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _like(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character; case-sensitive.
    return fnmatch.fnmatchcase(value, pattern)


def _arn_like(pattern: str, value: str) -> bool:
    # ARNs are compared segment by segment (arn:partition:service:region:account:resource).
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    return len(patterns) == len(values) == 6 and all(_like(p, v) for p, v in zip(patterns, values))


OPERATORS = {
    "StringEquals": lambda expected, actual: expected == actual,
    "StringLike": _like,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda expected, actual: expected.lower() == actual.lower(),
}
NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(operator: str, key: str, expected: Iterable[str], context: Mapping[str, str]) -> bool:
    values = {name.lower(): value for name, value in context.items()}
    actual = values.get(key.lower())
    if operator == "Null":
        return all((actual is None) == (value.lower() == "true") for value in expected)
    if_exists = operator.endswith("IfExists")
    operator = operator[: -len("IfExists")] if if_exists else operator
    if actual is None:
        # A missing key matches no value: negated operators hold, the others do not (unless ...IfExists).
        return if_exists or operator in NEGATED
    if operator in NEGATED:
        return not any(OPERATORS[NEGATED[operator]](value, actual) for value in expected)
    if operator not in OPERATORS:
        raise NotImplementedError(f"condition operator {operator} is not emulated")
    return any(OPERATORS[operator](value, actual) for value in expected)


def _principal_matches(statement_principal: Any, principal: Mapping[str, str]) -> bool:
    if statement_principal == "*":
        return True
    for kind, names in (statement_principal or {}).items():
        names = _strings(names)
        if kind == "AWS" and "*" in names:
            return True
        if kind in principal and principal[kind] in names:
            return True
    return False


def evaluate(
    policy: Mapping[str, Any],
    action: str,
    resource: str,
    principal: Mapping[str, str],
    context: Mapping[str, str],
) -> str:
    """ALLOW, DENY or NEUTRAL for one request. principal is {"AWS": arn} or {"Service": name}."""
    result = NEUTRAL
    statements = policy.get("Statement") or []
    for statement in [statements] if isinstance(statements, dict) else statements:
        if not any(_like(pattern.lower(), action.lower()) for pattern in _strings(statement.get("Action"))):
            continue
        if not any(_arn_like(pattern, resource) or pattern == "*" for pattern in _strings(statement.get("Resource"))):
            continue
        if not _principal_matches(statement.get("Principal"), principal):
            continue
        conditions = statement.get("Condition") or {}
        if all(
            _condition_holds(operator, key, _strings(expected), context)
            for operator, pairs in conditions.items()
            for key, expected in pairs.items()
        ):
            if statement["Effect"] == DENY:
                return DENY
            result = ALLOW
    return result


def as_service(client: Any, service: str, source_arn: str) -> Any:
    """The boto3 client, its requests to the emulator now standing for those the service principal makes on
    behalf of source_arn (SES publishing a configuration set's events, CloudWatch an alarm's state)."""

    def stand_for_the_service(request: Any, **_: Any) -> None:
        request.headers[SERVICE_HEADER] = service
        request.headers[SOURCE_ARN_HEADER] = source_arn

    client.meta.events.register("before-sign", stand_for_the_service)
    return client


def caller(response: Any) -> Tuple[Dict[str, str], Dict[str, str]]:
    """The principal and request context of a request to the emulator: the service of :func:`as_service`,
    else the IAM user or assumed role of the access key that signed it, else the account root."""
    service = response.headers.get(SERVICE_HEADER)
    if service:
        source_arn = response.headers.get(SOURCE_ARN_HEADER, "")
        return {"Service": service}, {
            "aws:PrincipalIsAWSService": "true",
            "aws:PrincipalServiceName": service,
            "aws:SourceArn": source_arn,
            "aws:SourceAccount": source_arn.split(":")[4] if source_arn.count(":") >= 5 else "",
        }
    access_key = response.get_access_key()
    account = get_account_id_from(access_key)
    arn = f"arn:aws:iam::{account}:root"
    for user in iam_backends[account]["global"].users.values():
        if any(key.access_key_id == access_key for key in user.access_keys):
            arn = user.arn
    for role in sts_backends[account]["global"].assumed_roles:
        if role.access_key_id == access_key:
            arn = role.role_arn
    return {"AWS": arn}, {
        "aws:PrincipalArn": arn,
        "aws:PrincipalAccount": account,
        "aws:PrincipalIsAWSService": "false",
    }


def _refuse_if_denied(response: Any, policy_json: Optional[str], action: str, resource: str, error: Any) -> None:
    if not policy_json:
        return
    principal, context = caller(response)
    if evaluate(json.loads(policy_json), action, resource, principal, context) == DENY:
        raise error(
            f"User: {next(iter(principal.values()))} is not authorized to perform: {action} on resource: {resource} "
            "with an explicit deny in a resource-based policy"
        )


class SNSAuthorizationError(ServiceException):
    code = "AuthorizationError"


class SQSAccessDenied(ServiceException):
    code = "AccessDenied"


def _publish(original):
    def publish(self: SNSResponse):
        topic_arn = self._get_param("TopicArn") or self._get_param("TargetArn")
        topic = self.backend.topics.get(topic_arn) if topic_arn else None
        if topic is not None:
            _refuse_if_denied(self, topic.policy, "sns:Publish", topic_arn, SNSAuthorizationError)
        return original(self)

    return publish


def _send(original):
    def send(self: SQSResponse):
        queue = self.sqs_backend.get_queue(self._get_queue_name())
        _refuse_if_denied(self, queue.policy, "sqs:SendMessage", queue.queue_arn, SQSAccessDenied)
        return original(self)

    return send


def apply() -> None:
    """Patch moto's SNS and SQS responses; calling it again changes nothing."""
    if getattr(SNSResponse, "_ses_guard_policies", False):
        return
    SNSResponse.publish = _publish(SNSResponse.publish)
    SQSResponse.send_message = _send(SQSResponse.send_message)
    SQSResponse.send_message_batch = _send(SQSResponse.send_message_batch)
    SNSResponse._ses_guard_policies = True
