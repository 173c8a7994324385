"""Log tables: the enhanced status code the receiving server gave (diagnosticCode "smtp; 550 5.1.1 ..." -> 5.1.1).

Rows written by the previous release keep everything and get the code read from their diagnostic_code (in
batches), so hygiene's 5.x.x rule also sees the bounces already in its window.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from ses_guard.parsing import enhanced_status_code

# The width this revision created: history, not the schema's current schema.STATUS_CODE_LENGTH.
STATUS_CODE_LENGTH = 16

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LOG_TABLES = {"user_email_log": "user_email_id", "unvalidated_email_log": "unvalidated_email_log_id"}
BACKFILL_BATCH = 5000


def _backfill(table_name: str, id_name: str) -> None:
    connection = op.get_bind()
    table = sa.table(
        table_name,
        sa.column(id_name),
        sa.column("diagnostic_code"),
        sa.column("enhanced_status_code"),
    )
    row_id = table.c[id_name]
    last = None
    while True:
        query = sa.select(row_id, table.c.diagnostic_code).where(table.c.diagnostic_code.isnot(None))
        if last is not None:
            query = query.where(row_id > last)
        rows = connection.execute(query.order_by(row_id).limit(BACKFILL_BATCH)).all()
        if not rows:
            return
        codes = [{"row_id": rid, "code": enhanced_status_code(text)} for rid, text in rows]
        codes = [entry for entry in codes if entry["code"]]
        if codes:
            connection.execute(
                table.update()
                .where(row_id == sa.bindparam("row_id"))
                .values(enhanced_status_code=sa.bindparam("code")),
                codes,
            )
        last = rows[-1][0]


def upgrade() -> None:
    for table_name, id_name in LOG_TABLES.items():
        op.add_column(table_name, sa.Column("enhanced_status_code", sa.String(STATUS_CODE_LENGTH)))
        _backfill(table_name, id_name)


def downgrade() -> None:
    for table_name in LOG_TABLES:
        op.drop_column(table_name, "enhanced_status_code")
