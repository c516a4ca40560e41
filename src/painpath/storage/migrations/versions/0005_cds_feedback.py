"""CDS Hooks feedback: what clinicians did with PainPath's cards, with the issuer (and clinic) that sent it

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("issuer", sa.String(length=255), nullable=False, comment="iss of the calling CDS client's JWT"),
        sa.Column("service", sa.String(length=64), nullable=False, comment="CDS service id"),
        sa.Column("card", sa.String(length=64), nullable=False, comment="uuid of the card acted on"),
        sa.Column("outcome", sa.String(length=16), nullable=False, comment="accepted | overridden"),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False, comment="outcomeTimestamp"),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=True),
        sa.Column("override_reason", sa.JSON(), nullable=True, comment="a Coding"),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cds_feedback") as batch:
        batch.create_index(batch.f("ix_cds_feedback_clinic_id"), ["clinic_id"], unique=False)
        batch.create_index(batch.f("ix_cds_feedback_issuer"), ["issuer"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cds_feedback") as batch:
        batch.drop_index(batch.f("ix_cds_feedback_issuer"))
        batch.drop_index(batch.f("ix_cds_feedback_clinic_id"))
    op.drop_table("cds_feedback")
