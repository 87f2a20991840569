"""Which document-signing key signed a license's current certificate PDF, so the verify page can say when the PDF in
circulation was signed with a revoked key. Null until the PDF is next written (licenses issued before this
revision, and a render still queued). A plain ADD COLUMN on both databases.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 20:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("licenses", sa.Column("document_key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("licenses", "document_key_id")
