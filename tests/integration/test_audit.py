"""The audit trail on real databases: a row is always written, whatever the length of what it names."""

from __future__ import annotations

from sqlalchemy import select

from ses_guard import audit, schema
from tests.conftest import both_databases

pytestmark = both_databases


def test_a_target_longer_than_its_column_is_cut_to_fit(engine):
    target = "configuration-set:" + "x" * 300
    entry = audit.AuditEntry(audit.SENDING_DISABLED, target, "alarm fired", None, "disabled")

    with engine.begin() as connection:
        audit.record(connection, [entry])

    with engine.connect() as connection:
        [(stored, reason)] = connection.execute(
            select(schema.automation_audit_log.c.target, schema.automation_audit_log.c.reason)
        ).all()
    assert stored == target[:255]
    assert reason == "alarm fired"
