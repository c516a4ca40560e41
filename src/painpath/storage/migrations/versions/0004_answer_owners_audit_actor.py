"""answers a clinic recorded (patients may not change them); patients' changes audited too

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("clinic_findings", sa.JSON(), nullable=True,
                                   comment="findings a clinician or API key answered: a patient may not change them"))
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=16), nullable=False, server_default="clinic",
                                   comment="clinic (a clinician or API key) | patient"))
        batch.alter_column("clinic_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM audit_log WHERE clinic_id IS NULL")
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("clinic_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("actor")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_column("clinic_findings")
