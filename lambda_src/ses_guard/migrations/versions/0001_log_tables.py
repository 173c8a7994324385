"""Log tables: user_email_log, unvalidated_email_log and the unregistered-recipient ledger.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EVENT_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")
MYSQL = {"mysql_charset": "utf8mb4", "mysql_engine": "InnoDB"}


def _id_column(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True)


def _event_columns(table: str) -> list:
    return [
        sa.Column("destination_address", sa.String(320), nullable=False),
        sa.Column("aws_sns_message_id", sa.String(255)),
        sa.Column("source_address", sa.String(320)),
        sa.Column("subject", sa.String(998)),
        sa.Column("source_ip", sa.String(45)),
        sa.Column("source_arn", sa.String(512)),
        sa.Column("timestamp", EVENT_TIME, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("diagnostic_code", sa.Text()),
        sa.Column("ses_message_id", sa.String(128), nullable=False),
        sa.Column("bounce_type", sa.String(32)),
        sa.Column("bounce_sub_type", sa.String(64)),
        sa.Column("feedback_id", sa.String(255)),
        sa.Column("complaint_feedback_type", sa.String(64)),
        sa.Column("caller_identity", sa.String(255)),
        sa.Column("sending_account_id", sa.String(32)),
        sa.Column("configuration_set", sa.String(255)),
        sa.Column("event_key", sa.CHAR(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()),
        sa.UniqueConstraint("event_key", name=f"uq_{table}_event_key"),
    ]


def upgrade() -> None:
    op.create_table(
        "user_email_log",
        _id_column("user_email_id"),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        *_event_columns("user_email_log"),
        **MYSQL,
    )
    # A user's bounces in the last 30 days (hygiene), by time, by destination.
    op.create_index("ix_user_email_log_user_status_time", "user_email_log", ["user_id", "status", "timestamp"])
    op.create_index("ix_user_email_log_timestamp", "user_email_log", ["timestamp"])
    op.create_index("ix_user_email_log_destination", "user_email_log", ["destination_address"])

    op.create_table(
        "unvalidated_email_log",
        _id_column("unvalidated_email_log_id"),
        *_event_columns("unvalidated_email_log"),
        **MYSQL,
    )
    op.create_index("ix_unvalidated_email_log_timestamp", "unvalidated_email_log", ["timestamp"])
    op.create_index("ix_unvalidated_email_log_destination", "unvalidated_email_log", ["destination_address"])
    # The breaker's evidence: which source IPs sent to strangers lately.
    op.create_index("ix_unvalidated_email_log_source_ip_time", "unvalidated_email_log", ["source_ip", "timestamp"])

    op.create_table(
        "unregistered_recipient",
        sa.Column("pair_key", sa.CHAR(64), nullable=False),
        sa.Column("ses_message_id", sa.String(128), nullable=False),
        sa.Column("destination_address", sa.String(320), nullable=False),
        sa.Column("first_seen", EVENT_TIME, nullable=False),
        sa.PrimaryKeyConstraint("pair_key", name="pk_unregistered_recipient"),
        **MYSQL,
    )


def downgrade() -> None:
    op.drop_table("unregistered_recipient")
    op.drop_table("unvalidated_email_log")
    op.drop_table("user_email_log")
