"""webhook deliveries by event: an index for the outbox purge

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 15:00:00

The daily purge of the outbox asks, for each old event, whether a delivery of it is still to
be tried, and deletes an event's deliveries with it: both look deliveries up by event.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_webhook_deliveries_event", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_event")
