"""accounts by member: an index for every read and change of a member's balance

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 18:00:00

A member's balances are read and changed by member, asset and code (the posting path's
conditional UPDATE, the member page), without the program: the unique key (program, member,
asset, code) cannot serve them, so with a million members each read scanned four million
accounts (EXPLAIN ANALYZE on bench/console.py's data set: 650 ms to 0.1 ms).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_member", ["member_id", "asset", "code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_member")
