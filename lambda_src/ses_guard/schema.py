"""The tables the guard owns, and the application's users table as configured.

The seed's column names are kept exactly; the extra columns are what an operator investigating a
bounce or a leak needs (SES message id, recipient, bounce type, caller identity, ...).
"""

from __future__ import annotations

from typing import List, Tuple

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

from ses_guard.settings import UsersTable

# Column widths, in characters. The parser cuts free text to them and refuses identifiers longer than them.
ADDRESS_LENGTH = 320  # RFC 5321: 64 (local part) + 1 + 255 (domain)
SUBJECT_LENGTH = 998  # RFC 5322's longest line
ARN_LENGTH = 512
SHORT_TEXT_LENGTH = 255
MESSAGE_ID_LENGTH = 128
IP_ADDRESS_LENGTH = 45  # an IPv6 address with an embedded IPv4 one
ACCOUNT_ID_LENGTH = 32
STATUS_LENGTH = 32  # SES event types and bounce types
SUBTYPE_LENGTH = 64  # bounce subtypes and complaint feedback types
STATUS_CODE_LENGTH = 16  # an RFC 3463 enhanced status code
SHA256_HEX_LENGTH = 64
ACTION_LENGTH = 32  # an audit action name (audit.py)

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

# Where the value of a log column comes from (Column.info["source"]): a field of the parsed event
# (parsing.RecipientEvent has one attribute per such column, derived from this list), computed from those
# fields by the parser, or the database server.
EVENT_FIELD = "event field"
DERIVED = "derived"
_SOURCE = "source"


def _event_columns() -> List[Column]:
    """Columns both log tables share, in the seed's order after the table's own keys: one list, derived by the
    parser's RecipientEvent, the store's rows and the tables. Migrations keep their own copies (history)."""

    def field(name: str, kind, nullable: bool = True) -> Column:
        return Column(name, kind, nullable=nullable, info={_SOURCE: EVENT_FIELD})

    return [
        field("destination_address", String(ADDRESS_LENGTH), nullable=False),
        field("aws_sns_message_id", String(SHORT_TEXT_LENGTH)),
        field("source_address", String(ADDRESS_LENGTH)),
        field("subject", String(SUBJECT_LENGTH)),
        field("source_ip", String(IP_ADDRESS_LENGTH)),
        field("source_arn", String(ARN_LENGTH)),
        field("timestamp", EventTime, nullable=False),
        field("status", String(STATUS_LENGTH), nullable=False),
        field("diagnostic_code", Text()),
        # What the receiving server said ("5.1.1"), read from diagnostic_code: hygiene trusts 5.x.x over bounceType.
        Column("enhanced_status_code", String(STATUS_CODE_LENGTH), info={_SOURCE: DERIVED}),
        field("ses_message_id", String(MESSAGE_ID_LENGTH), nullable=False),
        field("bounce_type", String(STATUS_LENGTH)),
        field("bounce_sub_type", String(SUBTYPE_LENGTH)),
        field("feedback_id", String(SHORT_TEXT_LENGTH)),
        field("complaint_feedback_type", String(SUBTYPE_LENGTH)),
        field("caller_identity", String(SHORT_TEXT_LENGTH)),
        field("sending_account_id", String(ACCOUNT_ID_LENGTH)),
        field("configuration_set", String(SHORT_TEXT_LENGTH)),
        # sha256 of (SES message, recipient, event type, event time): the exactly-once guarantee.
        Column("event_key", CHAR(SHA256_HEX_LENGTH), nullable=False, unique=True, info={_SOURCE: DERIVED}),
        Column("created_at", DateTime(), nullable=False, server_default=func.current_timestamp()),
    ]


user_email_log = Table(
    "user_email_log",
    metadata,
    Column("user_email_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", BigInteger(), nullable=False),
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
    Column("pair_key", CHAR(SHA256_HEX_LENGTH), primary_key=True),
    Column("ses_message_id", String(MESSAGE_ID_LENGTH), nullable=False),
    Column("destination_address", String(ADDRESS_LENGTH), nullable=False),
    Column("first_seen", EventTime, nullable=False),
    **_MYSQL_TABLE_ARGS,
)

# Every action the automation takes, so an operator can see what changed, when, why, from what to what.
automation_audit_log = Table(
    "automation_audit_log",
    metadata,
    Column("audit_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("occurred_at", EventTime, nullable=False),
    Column("action", String(ACTION_LENGTH), nullable=False),
    Column("target", String(SHORT_TEXT_LENGTH), nullable=False),
    Column("reason", Text(), nullable=False),
    Column("before_value", Text()),
    Column("after_value", Text()),
    Column("actor", String(SHORT_TEXT_LENGTH), nullable=False),
    Index("ix_automation_audit_log_occurred_at", "occurred_at"),
    **_MYSQL_TABLE_ARGS,
)


def _columns_from(source: str) -> Tuple[Column, ...]:
    return tuple(column for column in user_email_log.c if column.info.get(_SOURCE) == source)


# The shared columns whose values a parsed event carries (its fields) and the parser computes from them.
EVENT_FIELD_COLUMNS = _columns_from(EVENT_FIELD)
DERIVED_COLUMNS = _columns_from(DERIVED)
# What the store writes into either log table for one event (the server fills created_at).
LOG_ROW_COLUMNS: Tuple[str, ...] = tuple(column.name for column in EVENT_FIELD_COLUMNS + DERIVED_COLUMNS)


def users_table(config: UsersTable) -> Table:
    """The application's users table, described only as far as the guard uses it."""
    return Table(
        config.name,
        MetaData(),
        Column(config.id_column, BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
        Column(config.email_column, String(ADDRESS_LENGTH), nullable=False),
        Column(config.validated_column, Integer(), nullable=False, default=0),
        **_MYSQL_TABLE_ARGS,
    )
