"""coupons: templates, issued coupons, and their use by orders

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 21:00:00

A template (优惠券模板) holds a coupon's terms and its atomic budget counters; a coupon is one
issued code, unique per program and at most one per (template, member, batch key); an order's
use of a coupon is kept in ``order_coupons`` with what refunds took back, also once the coupon
is given back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "coupon_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("off_minor", sa.BigInteger(), nullable=False),
        sa.Column("threshold_minor", sa.BigInteger(), nullable=False),
        sa.Column("percent_bp", sa.Integer(), nullable=False),
        sa.Column("cap_minor", sa.BigInteger(), nullable=True),
        sa.Column("gift_sku", sa.String(length=64), nullable=True),
        sa.Column("min_spend_minor", sa.BigInteger(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("with_coupons", sa.Boolean(), nullable=False),
        sa.Column("with_tier_discount", sa.Boolean(), nullable=False),
        sa.Column("with_points", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_days", sa.Integer(), nullable=True),
        sa.Column("per_member_limit", sa.Integer(), nullable=True),
        sa.Column("budget_count", sa.Integer(), nullable=True),
        sa.Column("budget_minor", sa.BigInteger(), nullable=True),
        sa.Column("return_on_refund", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("issued", sa.Integer(), nullable=False),
        sa.Column("discount_used_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_coupon_templates_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupon_templates")),
        sa.UniqueConstraint("program_id", "code", name=op.f("uq_coupon_templates_program_id_code")),
    )
    op.create_table(
        "coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("batch_key", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoke_reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_coupons_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_coupons_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_coupons_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_coupons_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coupons")),
        sa.UniqueConstraint("program_id", "code", name=op.f("uq_coupons_program_id_code")),
        sa.UniqueConstraint(
            "template_id",
            "member_id",
            "batch_key",
            name=op.f("uq_coupons_template_id_member_id_batch_key"),
        ),
    )
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.create_index("ix_coupons_member_status", ["member_id", "status"], unique=False)
        batch_op.create_index("ix_coupons_template_status", ["template_id", "status"], unique=False)

    op.create_table(
        "order_coupons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("coupon_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("discount_minor", sa.BigInteger(), nullable=False),
        sa.Column("taken_back_minor", sa.BigInteger(), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["coupon_id"], ["coupons.id"], name=op.f("fk_order_coupons_coupon_id_coupons")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_order_coupons_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["coupon_templates.id"],
            name=op.f("fk_order_coupons_template_id_coupon_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_coupons")),
        sa.UniqueConstraint(
            "order_id", "coupon_id", name=op.f("uq_order_coupons_order_id_coupon_id")
        ),
    )
    with op.batch_alter_table("order_coupons", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_coupons_coupon_id"), ["coupon_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_coupons_order_id"), ["order_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_order_coupons_template_id"), ["template_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_coupons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_coupons_template_id"))
        batch_op.drop_index(batch_op.f("ix_order_coupons_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_coupons_coupon_id"))

    op.drop_table("order_coupons")
    with op.batch_alter_table("coupons", schema=None) as batch_op:
        batch_op.drop_index("ix_coupons_template_status")
        batch_op.drop_index("ix_coupons_member_status")

    op.drop_table("coupons")
    op.drop_table("coupon_templates")
