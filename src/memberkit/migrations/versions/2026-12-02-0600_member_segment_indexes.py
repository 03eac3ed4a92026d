"""members: indexes that segment counts read (members by id within a program, and by gender)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 06:00:00

A segment count and its preview (the first members by id) over a million members: without
``(program_id, id)`` SQLite walks ``ix_members_program_store`` and sorts every match to find
the first twenty, and probes a tag's member list member by member instead of looking the
listed ids up; without ``(program_id, gender, id)`` a gender rule reads every member's row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_members_program_id", "members", ["program_id", "id"])
    op.create_index("ix_members_program_gender", "members", ["program_id", "gender", "id"])


def downgrade() -> None:
    op.drop_index("ix_members_program_gender", table_name="members")
    op.drop_index("ix_members_program_id", table_name="members")
