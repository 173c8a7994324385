"""The audit trail on real databases: a row is always written, whatever the length of what it names."""

from __future__ import annotations

from sqlalchemy import select

from ses_guard import audit, schema
from ses_guard import settings as config
from tests.conftest import both_databases

pytestmark = both_databases


def test_a_target_longer_than_its_column_is_cut_to_fit(engine):
    target = "configuration-set:" + "x" * 300
    entry = audit.AuditEntry(audit.SENDING_DISABLED, target, "alarm fired", None, "disabled")

    with engine.begin() as connection:
        audit.record(connection, [entry], "ses-guard cli")

    with engine.connect() as connection:
        [(stored, reason)] = connection.execute(
            select(schema.automation_audit_log.c.target, schema.automation_audit_log.c.reason)
        ).all()
    assert stored == target[:255]
    assert reason == "alarm fired"


def test_the_actor_is_the_lambda_function_or_the_cli(engine):
    entry = audit.AuditEntry(audit.SENDING_DISABLED, "account", "alarm fired", None, "disabled")
    for env in ({"AWS_LAMBDA_FUNCTION_NAME": "ses-guard-disable-sending"}, {}):
        with engine.begin() as connection:
            audit.record(connection, [entry], config.disable_sending_settings(env).actor)

    with engine.connect() as connection:
        actors = connection.execute(
            select(schema.automation_audit_log.c.actor).order_by(schema.automation_audit_log.c.audit_id)
        ).scalars()
        assert list(actors) == ["ses-guard-disable-sending", "ses-guard cli"]
