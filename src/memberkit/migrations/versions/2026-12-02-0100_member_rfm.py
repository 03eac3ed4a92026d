"""analytics: each member's RFM and lifecycle (member_rfm), and each full refresh's cut-offs

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-02 01:00:00

Both tables start empty: the daily job or ``memberkit analytics refresh`` fills them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_rfm",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary_minor", sa.BigInteger(), nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("rfm_class", sa.String(length=24), nullable=True),
        sa.Column("active_class", sa.String(length=16), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("first_purchase_on", sa.Date(), nullable=True),
        sa.Column("last_purchase_on", sa.Date(), nullable=True),
        sa.Column("recent_first_on", sa.Date(), nullable=True),
        sa.Column("previous_on", sa.Date(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"]),
        sa.PrimaryKeyConstraint("member_id"),
    )
    op.create_index("ix_member_rfm_program_class", "member_rfm", ["program_id", "rfm_class"])
    op.create_index("ix_member_rfm_program_lifecycle", "member_rfm", ["program_id", "lifecycle"])
    op.create_table(
        "rfm_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("cutoffs", sa.JSON(), nullable=True),
        sa.Column("sum_days", sa.BigInteger(), nullable=False),
        sa.Column("sum_count", sa.BigInteger(), nullable=False),
        sa.Column("sum_monetary", sa.BigInteger(), nullable=False),
        sa.Column("milliseconds", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["program_id"], ["programs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rfm_refreshes_program", "rfm_refreshes", ["program_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_rfm_refreshes_program", table_name="rfm_refreshes")
    op.drop_table("rfm_refreshes")
    op.drop_index("ix_member_rfm_program_lifecycle", table_name="member_rfm")
    op.drop_index("ix_member_rfm_program_class", table_name="member_rfm")
    op.drop_table("member_rfm")
