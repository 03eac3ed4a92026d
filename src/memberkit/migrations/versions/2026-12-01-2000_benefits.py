"""benefits: definitions, their grants to tiers with quotas, and each use

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 20:00:00

A benefit (权益) is defined per program (the system kinds are opened for every program by
the benefits section's setup), granted to tiers with a quota per period, and verified (核销)
once per external id; an undone use stays, marked, and counts no more.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "benefits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("icon", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_benefits_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefits")),
        sa.UniqueConstraint("program_id", "code", name=op.f("uq_benefits_program_id_code")),
    )
    op.create_table(
        "benefit_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("benefit_id", sa.Integer(), nullable=False),
        sa.Column("tier_code", sa.String(length=32), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["benefit_id"], ["benefits.id"], name=op.f("fk_benefit_grants_benefit_id_benefits")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_benefit_grants_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_grants")),
        sa.UniqueConstraint(
            "benefit_id", "tier_code", name=op.f("uq_benefit_grants_benefit_id_tier_code")
        ),
    )
    op.create_table(
        "benefit_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("benefit_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("tier_code", sa.String(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undo_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["benefit_id"], ["benefits.id"], name=op.f("fk_benefit_uses_benefit_id_benefits")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_benefit_uses_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_benefit_uses_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_benefit_uses_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_benefit_uses")),
        sa.UniqueConstraint(
            "program_id", "external_id", name=op.f("uq_benefit_uses_program_id_external_id")
        ),
    )
    with op.batch_alter_table("benefit_uses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_benefit_uses_member_period",
            ["member_id", "benefit_id", "period_start"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("benefit_uses", schema=None) as batch_op:
        batch_op.drop_index("ix_benefit_uses_member_period")
    op.drop_table("benefit_uses")
    op.drop_table("benefit_grants")
    op.drop_table("benefits")
