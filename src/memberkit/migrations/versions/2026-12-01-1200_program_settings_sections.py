"""program settings sections: one row per program and section instead of a column each

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00

Each settings column of ``programs`` becomes a row of ``program_settings`` (a column left
NULL, meaning "the default", gets no row), then the columns are dropped. ``programs`` is
referenced by every other table, so on SQLite its columns are dropped in place (a copy of
the table would break those references); going down they come back with an empty-object
server default for the two that were required.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Column of ``programs`` -> the section that holds it now.
SECTIONS = {
    "earning_rules": "earning",
    "points_validity": "validity",
    "tier_ladder": "ladder",
    "growth_rules": "growth",
    "wallet_rules": "wallet",
    "policies": "policies",
}
REQUIRED = ("earning_rules", "points_validity")

programs = sa.table(
    "programs",
    sa.column("id", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
    *(sa.column(name, sa.JSON) for name in SECTIONS),
)
settings = sa.table(
    "program_settings",
    sa.column("program_id", sa.Integer),
    sa.column("section", sa.String),
    sa.column("value", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "program_settings",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_program_settings_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("program_id", "section", name=op.f("pk_program_settings")),
    )
    bind = op.get_bind()
    rows = [
        {
            "program_id": row.id,
            "section": section,
            "value": row[column],
            "updated_at": row.updated_at,
        }
        for row in bind.execute(sa.select(programs)).mappings()
        for column, section in SECTIONS.items()
        if row[column] is not None
    ]
    if rows:
        bind.execute(settings.insert(), rows)
    for column in SECTIONS:
        op.drop_column("programs", column)


def downgrade() -> None:
    for column in SECTIONS:
        op.add_column(
            "programs",
            sa.Column(
                column,
                sa.JSON(),
                nullable=column not in REQUIRED,
                server_default="{}" if column in REQUIRED else None,
            ),
        )
    bind = op.get_bind()
    columns = {section: column for column, section in SECTIONS.items()}
    for row in bind.execute(sa.select(settings)).mappings():
        if row["section"] in columns:  # sections added since (the calendar) have no column
            bind.execute(
                programs.update()
                .where(programs.c.id == row["program_id"])
                .values({columns[row["section"]]: row["value"]})
            )
    op.drop_table("program_settings")
