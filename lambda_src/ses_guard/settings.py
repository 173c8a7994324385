"""Configuration: read from an environment mapping, once per entry point (each handler, the CLI), into the
small typed settings each function needs. Nothing else in the package reads the environment."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple

DEFAULT_NAMESPACE = "SESGuard"
DEFAULT_SERVICE = "ses-guard"
# The quota sync's SendQuotaUsedPercent goes to <metrics namespace><this> (e.g. SESGuard/Quota) unless
# QUOTA_METRICS_NAMESPACE names another: kept out of the namespace the guard's alarms watch.
QUOTA_NAMESPACE_SUFFIX = "/Quota"
# Likewise the enforcement watch's status metrics (ENFORCEMENT_METRICS_NAMESPACE): no function but the processor
# writes the namespace the breaker's evidence alarm watches.
ENFORCEMENT_NAMESPACE_SUFFIX = "/Enforcement"
# The longest any one database wait may take (connect, each read or write, each lock wait), in seconds.
DEFAULT_DB_TIMEOUT_SECONDS = 10
# The audit log's actor outside Lambda.
CLI_ACTOR = "ses-guard cli"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,63}$")


EMAIL_LOOKUPS = ("auto", "scan")
# The bounce types SES reports (bounce.bounceType); hygiene counts a subset of them.
SES_BOUNCE_TYPES = ("Permanent", "Transient", "Undetermined")


class ConfigurationError(ValueError):
    """An environment variable holds a value the functions cannot work with."""


@dataclass(frozen=True)
class UsersTable:
    """Where the application keeps its users; the guard only ever reads (and, for hygiene, flags) it."""

    name: str = "users"
    id_column: str = "user_id"
    email_column: str = "email_address"
    validated_column: str = "validated"
    # "auto": use the email column's index when its collation ignores case; "scan": always LOWER(TRIM(column)).
    email_lookup: str = "auto"


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the guard's database is and how long any one wait for it may take."""

    # repr=False: a URL may carry a password, and settings objects end up in logs and tracebacks.
    url: Optional[str] = field(default=None, repr=False)
    secret_arn: Optional[str] = None
    pool_recycle_seconds: int = 300
    timeout_seconds: int = DEFAULT_DB_TIMEOUT_SECONDS
    ca_bundle: Optional[str] = None  # CAs for a connection from the secret; None: the RDS CAs shipped


@dataclass(frozen=True)
class MetricsSettings:
    """The functions' metric namespace and service dimension (Powertools' own variables)."""

    namespace: str = DEFAULT_NAMESPACE
    service_name: str = DEFAULT_SERVICE


@dataclass(frozen=True)
class ProcessorSettings:
    """The event processor: whose users, and where SES events may come from (see provenance.py): the events
    topic, and the sending account for the CLI (in Lambda, the function's own account)."""

    users: UsersTable = UsersTable()
    events_topic_arn: Optional[str] = None
    sending_account_id: Optional[str] = None


@dataclass(frozen=True)
class SyncThresholdsSettings:
    send_count_alarms: Dict[str, float] = field(default_factory=dict)
    warning_topic_arn: Optional[str] = None
    metrics_namespace: str = DEFAULT_NAMESPACE + QUOTA_NAMESPACE_SUFFIX
    service_name: str = DEFAULT_SERVICE
    actor: str = CLI_ACTOR


@dataclass(frozen=True)
class SuppressBouncingUsersSettings:
    users: UsersTable = UsersTable()
    bounce_threshold: int = 5
    window_days: int = 30
    bounce_types: Tuple[str, ...] = ("Permanent", "Transient")
    invalidate_on_complaint: bool = True
    # Hygiene also puts the addresses it invalidates on the SES account suppression list.
    sync_suppression_list: bool = False
    actor: str = CLI_ACTOR


@dataclass(frozen=True)
class DisableSendingSettings:
    critical_topic_arn: Optional[str] = None
    alarm_names: Tuple[str, ...] = ()
    configuration_sets: Tuple[str, ...] = ()
    # Where the breaker's own failure metric goes: the processor's namespace, which its alarms watch.
    metrics_namespace: str = DEFAULT_NAMESPACE
    service_name: str = DEFAULT_SERVICE
    actor: str = CLI_ACTOR


@dataclass(frozen=True)
class WatchEnforcementSettings:
    warning_topic_arn: Optional[str] = None
    critical_topic_arn: Optional[str] = None
    metrics_namespace: str = DEFAULT_NAMESPACE + ENFORCEMENT_NAMESPACE_SUFFIX
    service_name: str = DEFAULT_SERVICE
    actor: str = CLI_ACTOR


def _identifier(env: Mapping[str, str], key: str, default: str) -> str:
    value = env.get(key, "").strip() or default
    # Table and column names are interpolated into SQL as quoted identifiers; refuse anything odd.
    if not _IDENTIFIER.match(value):
        raise ConfigurationError(f"{key}={value!r} is not a plain SQL identifier")
    return value


def _positive_int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{key}={raw!r} is not an integer") from None
    if value < 1:
        raise ConfigurationError(f"{key}={raw!r} must be at least 1")
    return value


def _choice(env: Mapping[str, str], key: str, choices: Tuple[str, ...]) -> str:
    raw = env.get(key, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigurationError(f"{key}={raw!r} is not one of {', '.join(choices)}")
    return raw


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{key}={raw!r} is not a boolean (true/false)")


def _json(env: Mapping[str, str], key: str, expected: type, default):
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigurationError(f"{key} is not valid JSON: {error.msg}") from None
    if not isinstance(value, expected):
        raise ConfigurationError(f"{key} must be a JSON {expected.__name__}")
    return value


def _send_count_alarms(env: Mapping[str, str]) -> Dict[str, float]:
    alarms = _json(env, "SEND_COUNT_ALARMS", dict, {})
    for name, percent in alarms.items():
        if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100:
            raise ConfigurationError(f"SEND_COUNT_ALARMS[{name!r}] must be a percentage in (0, 100]")
    return {str(name): float(percent) for name, percent in alarms.items()}


def _string_list(env: Mapping[str, str], key: str) -> Tuple[str, ...]:
    values = _json(env, key, list, [])
    if not all(isinstance(value, str) and value for value in values):
        raise ConfigurationError(f"{key} must be a JSON list of non-empty strings")
    return tuple(values)


def bounce_types(raw: str, variable: Optional[str] = None) -> Tuple[str, ...]:
    """Comma-separated SES bounce types, each one SES reports (case as SES spells it)."""
    types = tuple(part.strip() for part in raw.split(",") if part.strip())
    unknown = [value for value in types if value not in SES_BOUNCE_TYPES]
    if unknown or not types:
        problem = f"{', '.join(map(repr, unknown)) or 'no type'} is not an SES bounce type"
        where = f"{variable}: " if variable else ""
        raise ConfigurationError(f"{where}{problem}; use a comma-separated subset of {','.join(SES_BOUNCE_TYPES)}")
    return types


def _account_id(env: Mapping[str, str], key: str) -> Optional[str]:
    raw = env.get(key, "").strip()
    if raw and not (len(raw) == 12 and raw.isdigit()):
        raise ConfigurationError(f"{key}={raw!r} is not a 12-digit AWS account id")
    return raw or None


def _text(env: Mapping[str, str], key: str) -> Optional[str]:
    return env.get(key, "").strip() or None


def database_settings(env: Mapping[str, str]) -> DatabaseSettings:
    return DatabaseSettings(
        url=_text(env, "DATABASE_URL"),
        secret_arn=_text(env, "DB_SECRET_ARN"),
        pool_recycle_seconds=_positive_int(env, "DB_POOL_RECYCLE_SECONDS", DatabaseSettings.pool_recycle_seconds),
        timeout_seconds=_positive_int(env, "DB_TIMEOUT_SECONDS", DatabaseSettings.timeout_seconds),
        ca_bundle=_text(env, "DB_CA_BUNDLE"),
    )


def users_table(env: Mapping[str, str]) -> UsersTable:
    return UsersTable(
        name=_identifier(env, "USERS_TABLE", UsersTable.name),
        id_column=_identifier(env, "USERS_ID_COLUMN", UsersTable.id_column),
        email_column=_identifier(env, "USERS_EMAIL_COLUMN", UsersTable.email_column),
        validated_column=_identifier(env, "USERS_VALIDATED_COLUMN", UsersTable.validated_column),
        email_lookup=_choice(env, "USERS_EMAIL_LOOKUP", EMAIL_LOOKUPS),
    )


def metrics_settings(env: Mapping[str, str]) -> MetricsSettings:
    return MetricsSettings(
        namespace=_text(env, "POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
        service_name=_text(env, "POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE,
    )


def actor(env: Mapping[str, str]) -> str:
    """Who acts, as the audit log names it: the Lambda function, or the operator's CLI."""
    return _text(env, "AWS_LAMBDA_FUNCTION_NAME") or CLI_ACTOR


def processor_settings(env: Mapping[str, str]) -> ProcessorSettings:
    return ProcessorSettings(
        users=users_table(env),
        events_topic_arn=_text(env, "EVENTS_TOPIC_ARN"),
        sending_account_id=_account_id(env, "SENDING_ACCOUNT_ID"),
    )


def sync_thresholds_settings(env: Mapping[str, str]) -> SyncThresholdsSettings:
    metrics = metrics_settings(env)
    return SyncThresholdsSettings(
        send_count_alarms=_send_count_alarms(env),
        warning_topic_arn=_text(env, "WARNING_TOPIC_ARN"),
        metrics_namespace=_text(env, "QUOTA_METRICS_NAMESPACE") or metrics.namespace + QUOTA_NAMESPACE_SUFFIX,
        service_name=metrics.service_name,
        actor=actor(env),
    )


def suppress_bouncing_users_settings(env: Mapping[str, str]) -> SuppressBouncingUsersSettings:
    raw_bounce_types = _text(env, "HYGIENE_BOUNCE_TYPES")
    return SuppressBouncingUsersSettings(
        users=users_table(env),
        bounce_threshold=_positive_int(env, "HYGIENE_BOUNCE_THRESHOLD", SuppressBouncingUsersSettings.bounce_threshold),
        window_days=_positive_int(env, "HYGIENE_WINDOW_DAYS", SuppressBouncingUsersSettings.window_days),
        bounce_types=bounce_types(raw_bounce_types, "HYGIENE_BOUNCE_TYPES")
        if raw_bounce_types
        else SuppressBouncingUsersSettings.bounce_types,
        invalidate_on_complaint=_bool(
            env, "HYGIENE_INVALIDATE_ON_COMPLAINT", SuppressBouncingUsersSettings.invalidate_on_complaint
        ),
        sync_suppression_list=_bool(env, "SYNC_SUPPRESSION_LIST", SuppressBouncingUsersSettings.sync_suppression_list),
        actor=actor(env),
    )


def disable_sending_settings(env: Mapping[str, str]) -> DisableSendingSettings:
    metrics = metrics_settings(env)
    return DisableSendingSettings(
        critical_topic_arn=_text(env, "CRITICAL_TOPIC_ARN"),
        alarm_names=_string_list(env, "BREAKER_ALARM_NAMES"),
        configuration_sets=_string_list(env, "BREAKER_CONFIGURATION_SETS"),
        metrics_namespace=metrics.namespace,
        service_name=metrics.service_name,
        actor=actor(env),
    )


def watch_enforcement_settings(env: Mapping[str, str]) -> WatchEnforcementSettings:
    metrics = metrics_settings(env)
    return WatchEnforcementSettings(
        warning_topic_arn=_text(env, "WARNING_TOPIC_ARN"),
        critical_topic_arn=_text(env, "CRITICAL_TOPIC_ARN"),
        metrics_namespace=_text(env, "ENFORCEMENT_METRICS_NAMESPACE")
        or metrics.namespace + ENFORCEMENT_NAMESPACE_SUFFIX,
        service_name=metrics.service_name,
        actor=actor(env),
    )
