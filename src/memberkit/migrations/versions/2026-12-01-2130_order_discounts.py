"""order discounts: the tier discount and coupons per line, and what refunds took back

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 21:30:00

An order line's ``amount_minor`` stays what the customer pays for it; the tier discount and
the coupons' discount that came off it are kept beside it, and their totals on the order,
with what refunds took back of them (on the order and on each refund). An order's use of a
coupon keeps its discount by line, so a refund takes back exactly that line's share.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    "order_lines": ("tier_discount_minor", "coupon_discount_minor"),
    "orders": (
        "tier_discount_minor",
        "coupon_discount_minor",
        "tier_taken_back_minor",
        "coupon_taken_back_minor",
    ),
    "refunds": ("tier_taken_back_minor", "coupon_taken_back_minor"),
}


def upgrade() -> None:
    for name, columns in _COLUMNS.items():
        with op.batch_alter_table(name, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(
                    sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
                )
    with op.batch_alter_table("order_coupons", schema=None) as batch_op:
        batch_op.add_column(sa.Column("by_line", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("order_coupons", schema=None) as batch_op:
        batch_op.drop_column("by_line")
    for name, columns in _COLUMNS.items():
        with op.batch_alter_table(name, schema=None) as batch_op:
            for column in reversed(columns):
                batch_op.drop_column(column)
