"""orders and refunds say where they came from; orders may have no member; members' old ids

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 01:00:00

``source`` is ``live`` (posted through the API, the cashier screen) or ``history`` (imported
from the merchant's old system), so analytics can tell imported history apart; every row
already stored is live. ``orders.member_id`` becomes nullable: a sale to no member (a
non-member sale) is stored and counted but earns nothing. ``members.external_ref`` is the old
system's customer id, unique per program, by which imported orders find their member.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="live", nullable=False)
        )
        batch_op.alter_column("member_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source", sa.String(length=16), server_default="live", nullable=False)
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_ref", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            op.f("uq_members_program_id_external_ref"), ["program_id", "external_ref"]
        )


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_members_program_id_external_ref"), type_="unique")
        batch_op.drop_column("external_ref")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_column("source")
    # Orders without a member cannot be kept by a column that needs one; they earned nothing,
    # so no ledger entry, coupon or tier change names them.
    op.execute(
        "DELETE FROM refund_lines WHERE refund_id IN (SELECT id FROM refunds WHERE order_id IN "
        "(SELECT id FROM orders WHERE member_id IS NULL))"
    )
    for statement in (
        "DELETE FROM refunds WHERE order_id IN (SELECT id FROM orders WHERE member_id IS NULL)",
        "DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE member_id IS NULL)",
        "DELETE FROM order_payments WHERE order_id IN "
        "(SELECT id FROM orders WHERE member_id IS NULL)",
    ):
        op.execute(statement)
    op.execute("DELETE FROM orders WHERE member_id IS NULL")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column("member_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("source")
