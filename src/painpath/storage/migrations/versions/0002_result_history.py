"""keep earlier results when a finished assessment is amended

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("history", sa.JSON(), nullable=True,
                                   comment="earlier results, kept when a finished assessment is amended"))


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("history")
