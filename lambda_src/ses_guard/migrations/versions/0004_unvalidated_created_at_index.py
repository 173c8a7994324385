"""unvalidated_email_log: an index on created_at, so the breaker's evidence (the unregistered pairs the guard
recorded within the alarm's window) is a range read, not a scan of the whole table, during a large leak.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_unvalidated_email_log_created_at", "unvalidated_email_log", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_unvalidated_email_log_created_at", table_name="unvalidated_email_log")
