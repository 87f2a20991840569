"""陈述申辩 and 信用修复 as procedures on an obligation: the holder's statement during the 公示 and the department's
answer (listing waits for it), and the holder's application for credit repair with its evidence, when it was made
and by when the department decides.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        batch.add_column(sa.Column("statement", sa.Text(), nullable=True))
        batch.add_column(sa.Column("statement_answer", sa.Text(), nullable=True))
        batch.add_column(sa.Column("repair_statement", sa.Text(), nullable=True))
        batch.add_column(sa.Column("repair_evidence", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("repair_requested_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("repair_due_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("obligations") as batch:
        for name in ("repair_due_on", "repair_requested_on", "repair_evidence", "repair_statement",
                     "statement_answer", "statement"):  # fmt: skip
            batch.drop_column(name)
