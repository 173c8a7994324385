"""Configuration from the environment: defaults, and a clear error naming the bad variable."""

from __future__ import annotations

import pytest

from ses_guard import settings as config
from ses_guard.settings import ConfigurationError, UsersTable

# Every function's settings reader: one environment, read as each entry point reads it.
READERS = (
    config.database_settings,
    config.processor_settings,
    config.sync_thresholds_settings,
    config.suppress_bouncing_users_settings,
    config.disable_sending_settings,
    config.watch_enforcement_settings,
)


def read_all(env):
    for read in READERS:
        read(env)


def test_defaults_match_the_seed():
    defaults = config.suppress_bouncing_users_settings({})
    assert defaults.users == UsersTable("users", "user_id", "email_address", "validated", email_lookup="auto")
    assert config.processor_settings({}).users == defaults.users
    assert config.metrics_settings({}).namespace == "SESGuard"
    assert config.sync_thresholds_settings({}).metrics_namespace == "SESGuard/Quota"
    assert config.watch_enforcement_settings({}).metrics_namespace == "SESGuard/Enforcement"
    assert (defaults.bounce_threshold, defaults.window_days) == (5, 30)
    assert defaults.bounce_types == ("Permanent", "Transient")


def test_the_actor_is_the_function_or_the_cli():
    assert config.suppress_bouncing_users_settings({}).actor == "ses-guard cli"
    assert config.disable_sending_settings({"AWS_LAMBDA_FUNCTION_NAME": "guard-breaker"}).actor == "guard-breaker"


def test_the_users_lookup_can_be_forced_to_normalize_the_column():
    assert config.users_table({"USERS_EMAIL_LOOKUP": " Scan "}).email_lookup == "scan"


def test_the_database_url_never_shows_in_the_settings_repr():
    settings = config.database_settings({"DATABASE_URL": "mysql+pymysql://app:s3cr3t-pw@db/app"})
    assert settings.url.endswith("@db/app")
    assert "s3cr3t-pw" not in repr(settings)


def test_automation_lists_and_maps_are_read_from_json():
    env = {
        "SEND_COUNT_ALARMS": '{"warn": 60, "crit": 80.5}',
        "BREAKER_ALARM_NAMES": '["unregistered-critical"]',
        "HYGIENE_BOUNCE_TYPES": "Permanent, Undetermined",
        "HYGIENE_INVALIDATE_ON_COMPLAINT": "false",
    }
    assert config.sync_thresholds_settings(env).send_count_alarms == {"warn": 60.0, "crit": 80.5}
    assert config.disable_sending_settings(env).alarm_names == ("unregistered-critical",)
    hygiene = config.suppress_bouncing_users_settings(env)
    assert hygiene.bounce_types == ("Permanent", "Undetermined")
    assert hygiene.invalidate_on_complaint is False


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"USERS_TABLE": "users; DROP TABLE x"}, "USERS_TABLE"),
        ({"USERS_EMAIL_COLUMN": "e-mail"}, "USERS_EMAIL_COLUMN"),
        ({"HYGIENE_BOUNCE_THRESHOLD": "five"}, "HYGIENE_BOUNCE_THRESHOLD"),
        ({"HYGIENE_WINDOW_DAYS": "0"}, "HYGIENE_WINDOW_DAYS"),
        ({"SEND_COUNT_ALARMS": "{not json"}, "SEND_COUNT_ALARMS is not valid JSON"),
        ({"SEND_COUNT_ALARMS": '{"a": 120}'}, "percentage"),
        ({"SEND_COUNT_ALARMS": "[60, 80]"}, "JSON dict"),
        ({"BREAKER_ALARM_NAMES": '[""]'}, "BREAKER_ALARM_NAMES"),
        ({"HYGIENE_INVALIDATE_ON_COMPLAINT": "maybe"}, "HYGIENE_INVALIDATE_ON_COMPLAINT"),
        ({"USERS_EMAIL_LOOKUP": "index"}, "USERS_EMAIL_LOOKUP='index' is not one of auto, scan"),
        ({"SENDING_ACCOUNT_ID": "12345"}, "SENDING_ACCOUNT_ID='12345' is not a 12-digit AWS account id"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigurationError, match=message):
        read_all(env)
