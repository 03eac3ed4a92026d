"""coupon issuance: what a template is given on by itself, and bulk-issue batches

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 21:10:00

A template may be given on registration (新人礼), on an upgrade to one tier (升级礼包) or on
the member's birthday; a batch records a bulk issue run in the background, with its progress.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("coupon_templates", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("on_registration", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("on_upgrade_tier", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("on_birthday", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "coupon_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_coupon_batches_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupon_batches_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_batches")),
        sa.UniqueConstraint(
            "program_id", "external_id", name=op.f("uq_coupon_batches_program_id_external_id")
        ),
    )
    with op.batch_alter_table("coupon_batches", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coupon_batches_template_id"), ["template_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("coupon_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coupon_batches_template_id"))
    op.drop_table("coupon_batches")
    with op.batch_alter_table("coupon_templates", schema=None) as batch_op:
        batch_op.drop_column("on_birthday")
        batch_op.drop_column("on_upgrade_tier")
        batch_op.drop_column("on_registration")
