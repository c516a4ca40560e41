"""CDS Hooks JWT ids in the database, so replay protection holds across workers and machines

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_used_jwts",
        sa.Column("key", sa.String(length=64), nullable=False, comment="SHA-256 of issuer and jti"),
        sa.Column("expires_at", sa.Float(), nullable=False, comment="seconds since the epoch"),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("cds_used_jwts") as batch:
        batch.create_index(batch.f("ix_cds_used_jwts_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cds_used_jwts") as batch:
        batch.drop_index(batch.f("ix_cds_used_jwts_expires_at"))
    op.drop_table("cds_used_jwts")
