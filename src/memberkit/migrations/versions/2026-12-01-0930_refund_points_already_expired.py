"""refunds record the part of a claw-back that had already expired; returned lots name their source

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("points_lots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_lot_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_points_lots_source_lot_id_points_lots"),
            "points_lots",
            ["source_lot_id"],
            ["id"],
        )
    for name in ("orders", "refunds"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "points_already_expired", sa.BigInteger(), server_default="0", nullable=False
                )
            )


def downgrade() -> None:
    for name in ("orders", "refunds"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("points_already_expired")
    with op.batch_alter_table("points_lots", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_points_lots_source_lot_id_points_lots"), type_="foreignkey"
        )
        batch_op.drop_column("source_lot_id")
