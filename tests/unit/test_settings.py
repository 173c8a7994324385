"""Configuration from the environment: defaults, and a clear error naming the bad variable."""

from __future__ import annotations

import pytest

from ses_guard.settings import ConfigurationError, UsersTable, from_env


def test_defaults_match_the_seed():
    settings = from_env({})
    assert settings.users == UsersTable("users", "user_id", "email_address", "validated", email_lookup="auto")
    assert settings.metrics_namespace == "SESGuard"
    assert (settings.hygiene_bounce_threshold, settings.hygiene_window_days) == (5, 30)
    assert settings.hygiene_bounce_types == ("Permanent", "Transient")


def test_the_users_lookup_can_be_forced_to_normalize_the_column():
    assert from_env({"USERS_EMAIL_LOOKUP": " Scan "}).users.email_lookup == "scan"


def test_the_database_url_never_shows_in_the_settings_repr():
    settings = from_env({"DATABASE_URL": "mysql+pymysql://app:s3cr3t-pw@db/app"})
    assert settings.database_url.endswith("@db/app")
    assert "s3cr3t-pw" not in repr(settings)


def test_automation_lists_and_maps_are_read_from_json():
    settings = from_env(
        {
            "SEND_COUNT_ALARMS": '{"warn": 60, "crit": 80.5}',
            "BREAKER_ALARM_NAMES": '["unregistered-critical"]',
            "HYGIENE_BOUNCE_TYPES": "Permanent, Undetermined",
            "HYGIENE_INVALIDATE_ON_COMPLAINT": "false",
        }
    )
    assert settings.send_count_alarms == {"warn": 60.0, "crit": 80.5}
    assert settings.breaker_alarm_names == ("unregistered-critical",)
    assert settings.hygiene_bounce_types == ("Permanent", "Undetermined")
    assert settings.hygiene_invalidate_on_complaint is False


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
        from_env(env)
