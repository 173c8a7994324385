"""The tables the guard owns, and the application's users table as configured.

The seed's column names are kept exactly; the extra columns are what an operator investigating a
bounce or a leak needs (SES message id, recipient, bounce type, caller identity, ...).
"""

from __future__ import annotations

from typing import List

from sqlalchemy import (
    CHAR,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects import mysql

from ses_guard import parsing
from ses_guard.settings import UsersTable

# Named constraints, so migrations on MySQL and SQLite agree on what to alter.
metadata = MetaData(
    naming_convention={
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The application may run Alembic itself: our revision history lives in our own table.
VERSION_TABLE = "ses_guard_alembic_version"

# SES times carry milliseconds; MySQL's plain DATETIME would drop them.
EventTime = DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")

_MYSQL_TABLE_ARGS = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def _event_columns() -> List[Column]:
    """Columns both log tables share, in the seed's order after the table's own keys."""
    return [
        Column("aws_sns_message_id", String(parsing.MAX_SHORT)),
        Column("source_address", String(parsing.MAX_ADDRESS)),
        Column("subject", String(parsing.MAX_SUBJECT)),
        Column("source_ip", String(45)),
        Column("source_arn", String(parsing.MAX_ARN)),
        Column("timestamp", EventTime, nullable=False),
        Column("status", String(32), nullable=False),
        Column("diagnostic_code", Text()),
        # What the receiving server said ("5.1.1"), read from diagnostic_code: hygiene trusts 5.x.x over bounceType.
        Column("enhanced_status_code", String(parsing.MAX_STATUS_CODE)),
        Column("ses_message_id", String(parsing.MAX_MESSAGE_ID), nullable=False),
        Column("bounce_type", String(32)),
        Column("bounce_sub_type", String(64)),
        Column("feedback_id", String(parsing.MAX_SHORT)),
        Column("complaint_feedback_type", String(64)),
        Column("caller_identity", String(parsing.MAX_SHORT)),
        Column("sending_account_id", String(32)),
        Column("configuration_set", String(parsing.MAX_SHORT)),
        # sha256 of (SES message, recipient, event type, event time): the exactly-once guarantee.
        Column("event_key", CHAR(64), nullable=False, unique=True),
        Column("created_at", DateTime(), nullable=False, server_default=func.current_timestamp()),
    ]


user_email_log = Table(
    "user_email_log",
    metadata,
    Column("user_email_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", BigInteger(), nullable=False),
    Column("destination_address", String(parsing.MAX_ADDRESS), nullable=False),
    *_event_columns(),
    Index("ix_user_email_log_user_status_time", "user_id", "status", "timestamp"),
    Index("ix_user_email_log_timestamp", "timestamp"),
    Index("ix_user_email_log_destination", "destination_address"),
    **_MYSQL_TABLE_ARGS,
)

unvalidated_email_log = Table(
    "unvalidated_email_log",
    metadata,
    Column(
        "unvalidated_email_log_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    Column("destination_address", String(parsing.MAX_ADDRESS), nullable=False),
    *_event_columns(),
    Index("ix_unvalidated_email_log_timestamp", "timestamp"),
    Index("ix_unvalidated_email_log_destination", "destination_address"),
    Index("ix_unvalidated_email_log_source_ip_time", "source_ip", "timestamp"),
    # The breaker's evidence: the pairs recorded within an alarm's window (migration 0004).
    Index("ix_unvalidated_email_log_created_at", "created_at"),
    **_MYSQL_TABLE_ARGS,
)

# One row per unregistered (SES message, recipient): inserting it is what counts EmailNotRegisteredCount,
# so a Send and its Delivery, or two racing containers, count once.
unregistered_recipient = Table(
    "unregistered_recipient",
    metadata,
    Column("pair_key", CHAR(64), primary_key=True),
    Column("ses_message_id", String(parsing.MAX_MESSAGE_ID), nullable=False),
    Column("destination_address", String(parsing.MAX_ADDRESS), nullable=False),
    Column("first_seen", EventTime, nullable=False),
    **_MYSQL_TABLE_ARGS,
)

# Every action the automation takes, so an operator can see what changed, when, why, from what to what.
automation_audit_log = Table(
    "automation_audit_log",
    metadata,
    Column("audit_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("occurred_at", EventTime, nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(parsing.MAX_SHORT), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("before_value", Text()),
    Column("after_value", Text()),
    Column("actor", String(parsing.MAX_SHORT), nullable=False),
    Index("ix_automation_audit_log_occurred_at", "occurred_at"),
    **_MYSQL_TABLE_ARGS,
)


def users_table(config: UsersTable) -> Table:
    """The application's users table, described only as far as the guard uses it."""
    return Table(
        config.name,
        MetaData(),
        Column(config.id_column, BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column(config.email_column, String(parsing.MAX_ADDRESS), nullable=False),
        Column(config.validated_column, Integer(), nullable=False, default=0),
        **_MYSQL_TABLE_ARGS,
    )
