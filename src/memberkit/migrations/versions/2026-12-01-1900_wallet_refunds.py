"""wallet refunds: what was paid back of each recharge, and the bonus forfeited with it

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 19:00:00

A recharge's unspent principal may be paid back (储值退款) and the bonus that came with it is
forfeited in proportion: each refund is a row of its own (unique by external id), and the
recharge keeps the running totals a next refund is computed from.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("wallet_recharges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refunded_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("bonus_forfeited_minor", sa.BigInteger(), server_default="0", nullable=False)
        )
    op.create_table(
        "wallet_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("recharge_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("bonus_forfeited_minor", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_wallet_refunds_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_wallet_refunds_program_id_programs")
        ),
        sa.ForeignKeyConstraint(
            ["recharge_id"],
            ["wallet_recharges.id"],
            name=op.f("fk_wallet_refunds_recharge_id_wallet_recharges"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_wallet_refunds_store_id_stores")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_refunds")),
        sa.UniqueConstraint(
            "program_id", "external_id", name=op.f("uq_wallet_refunds_program_id_external_id")
        ),
    )
    with op.batch_alter_table("wallet_refunds", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_refunds_recharge", ["recharge_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wallet_refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_refunds_recharge")
    op.drop_table("wallet_refunds")
    with op.batch_alter_table("wallet_recharges", schema=None) as batch_op:
        batch_op.drop_column("bonus_forfeited_minor")
        batch_op.drop_column("refunded_minor")
