"""tiers by code: members and tier history name tiers by code, not by position

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

Positions become the codes of the ladder each program has stored (the default ladder when it
has none); a position past the top of the ladder counts as the top tier, as the code did.
``members`` is referenced by other tables, so on SQLite its columns are added and dropped in
place (a copy of the table would break those references) and ``tier_code`` keeps an empty
server default, never used: every member is registered with the entry tier's code.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The codes of the default ladder when this migration was written (lowest first).
DEFAULT_CODES = ("regular", "silver", "gold", "black")

programs = sa.table("programs", sa.column("id", sa.Integer), sa.column("tier_ladder", sa.JSON))
members = sa.table(
    "members",
    sa.column("program_id", sa.Integer),
    sa.column("tier_level", sa.Integer),
    sa.column("tier_code", sa.String),
)
changes = sa.table(
    "tier_changes",
    sa.column("program_id", sa.Integer),
    sa.column("from_level", sa.Integer),
    sa.column("to_level", sa.Integer),
    sa.column("from_code", sa.String),
    sa.column("to_code", sa.String),
)
notices = sa.table(
    "tier_notices",
    sa.column("program_id", sa.Integer),
    sa.column("level", sa.Integer),
    sa.column("expected_level", sa.Integer),
    sa.column("tier_code", sa.String),
    sa.column("expected_code", sa.String),
)


def _ladders() -> list[tuple[int, list[str]]]:
    """Return each program's tier codes, lowest first."""
    found = []
    for program_id, ladder in op.get_bind().execute(
        sa.select(programs.c.id, programs.c.tier_ladder)
    ):
        tiers: list[Any] = (ladder or {}).get("tiers") or []
        codes = [t["code"] for t in tiers if isinstance(t, dict) and isinstance(t.get("code"), str)]
        found.append((program_id, codes or list(DEFAULT_CODES)))
    return found


def _code_of(level: Any, codes: list[str]) -> Any:
    """The code of a level (clamped to the ladder), as a SQL expression."""
    return sa.case(
        *[(level == index, code) for index, code in enumerate(codes[:-1])], else_=codes[-1]
    )


def _level_of(code: Any, codes: list[str]) -> Any:
    """The level of a code (0 for a code not on the ladder), as a SQL expression."""
    return sa.case(*[(code == c, index) for index, c in enumerate(codes)], else_=0)


def upgrade() -> None:
    op.add_column(
        "members", sa.Column("tier_code", sa.String(32), server_default="", nullable=False)
    )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_code", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("to_code", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tier_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier_code", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("expected_code", sa.String(32), nullable=True))
    bind = op.get_bind()
    for program_id, codes in _ladders():
        bind.execute(
            members.update()
            .where(members.c.program_id == program_id)
            .values(tier_code=_code_of(members.c.tier_level, codes))
        )
        bind.execute(
            changes.update()
            .where(changes.c.program_id == program_id)
            .values(
                from_code=_code_of(changes.c.from_level, codes),
                to_code=_code_of(changes.c.to_level, codes),
            )
        )
        bind.execute(
            notices.update()
            .where(notices.c.program_id == program_id)
            .values(
                tier_code=_code_of(notices.c.level, codes),
                expected_code=_code_of(notices.c.expected_level, codes),
            )
        )
    op.drop_column("members", "tier_level")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.alter_column("from_code", existing_type=sa.String(32), nullable=False)
        batch_op.alter_column("to_code", existing_type=sa.String(32), nullable=False)
        batch_op.drop_column("from_level")
        batch_op.drop_column("to_level")
    with op.batch_alter_table("tier_notices", schema=None) as batch_op:
        batch_op.alter_column("tier_code", existing_type=sa.String(32), nullable=False)
        batch_op.alter_column("expected_code", existing_type=sa.String(32), nullable=False)
        batch_op.drop_column("level")
        batch_op.drop_column("expected_level")


def downgrade() -> None:
    op.add_column(
        "members", sa.Column("tier_level", sa.Integer(), server_default="0", nullable=False)
    )
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("to_level", sa.Integer(), nullable=True))
    with op.batch_alter_table("tier_notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expected_level", sa.Integer(), nullable=True))
    bind = op.get_bind()
    for program_id, codes in _ladders():
        bind.execute(
            members.update()
            .where(members.c.program_id == program_id)
            .values(tier_level=_level_of(members.c.tier_code, codes))
        )
        bind.execute(
            changes.update()
            .where(changes.c.program_id == program_id)
            .values(
                from_level=_level_of(changes.c.from_code, codes),
                to_level=_level_of(changes.c.to_code, codes),
            )
        )
        bind.execute(
            notices.update()
            .where(notices.c.program_id == program_id)
            .values(
                level=_level_of(notices.c.tier_code, codes),
                expected_level=_level_of(notices.c.expected_code, codes),
            )
        )
    op.drop_column("members", "tier_code")
    with op.batch_alter_table("tier_changes", schema=None) as batch_op:
        batch_op.alter_column("from_level", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("to_level", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("from_code")
        batch_op.drop_column("to_code")
        batch_op.drop_column("since")
        batch_op.drop_column("review_at")
    with op.batch_alter_table("tier_notices", schema=None) as batch_op:
        batch_op.alter_column("level", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("expected_level", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("tier_code")
        batch_op.drop_column("expected_code")
