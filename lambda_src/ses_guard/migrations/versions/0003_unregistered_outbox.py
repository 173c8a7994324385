"""Count unregistered recipients through an outbox column, so in-doubt commits are still counted.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    event_time = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")
    with op.batch_alter_table("unregistered_recipient") as table:
        table.add_column(sa.Column("reported_at", event_time))
        table.create_index("ix_unregistered_recipient_reported_at", ["reported_at"])
    # Pairs stored before this revision were counted when they were inserted.
    op.execute("UPDATE unregistered_recipient SET reported_at = first_seen")


def downgrade() -> None:
    with op.batch_alter_table("unregistered_recipient") as table:
        table.drop_index("ix_unregistered_recipient_reported_at")
        table.drop_column("reported_at")
