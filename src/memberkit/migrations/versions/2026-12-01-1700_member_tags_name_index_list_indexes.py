"""member tags as rows, a blind index of names, indexes of the console's lists and dashboard

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:00:00

With a million members the console's list, search and dashboard scanned whole tables: a tag
was searched with LIKE over the JSON list of every member, each filter walked the members
newest first until it had a page, the dashboard read 30 days of orders. ``member_tags``
holds each tag of each member as a row (filled here from ``members.tags``, which stays what the
API shows); ``members.name_index`` is the keyed HMAC of the normalized full name, which SQL
cannot compute: ``memberkit member reindex`` fills it for members registered before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_tags",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_tags_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_member_tags_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_tags")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO member_tags (member_id, tag, program_id) "
            "SELECT DISTINCT m.id, t.tag, m.program_id FROM members m "
            "CROSS JOIN LATERAL json_array_elements_text(m.tags) AS t(tag) "
            "WHERE m.tags IS NOT NULL AND json_typeof(m.tags) = 'array'"
        )
    else:
        op.execute(
            "INSERT INTO member_tags (member_id, tag, program_id) "
            "SELECT DISTINCT m.id, t.value, m.program_id FROM members m, json_each(m.tags) t "
            "WHERE m.tags IS NOT NULL AND json_type(m.tags) = 'array'"
        )
    op.create_index("ix_member_tags_tag", "member_tags", ["program_id", "tag", "member_id"])
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_index", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_members_program_store", ["program_id", "store_id", "id"])
        batch_op.create_index("ix_members_program_tier", ["program_id", "tier_code", "id"])
        batch_op.create_index("ix_members_program_status", ["program_id", "status", "id"])
        batch_op.create_index("ix_members_program_created", ["program_id", "created_at", "id"])
        batch_op.create_index("ix_members_program_name", ["program_id", "name_index"])
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_program_occurred", ["program_id", "occurred_at"])
        batch_op.create_index("ix_orders_store_occurred", ["store_id", "occurred_at"])


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_store_occurred")
        batch_op.drop_index("ix_orders_program_occurred")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_program_name")
        batch_op.drop_index("ix_members_program_created")
        batch_op.drop_index("ix_members_program_status")
        batch_op.drop_index("ix_members_program_tier")
        batch_op.drop_index("ix_members_program_store")
        batch_op.drop_column("name_index")
    op.drop_index("ix_member_tags_tag", table_name="member_tags")
    op.drop_table("member_tags")
