"""forecast: fits of BG/NBD + Gamma-Gamma per program and the member forecasts they wrote

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-02 01:00:00

Model parameters are floats (statistics, not amounts); a member's figures are integers:
P(alive) in millionths, expected purchases in thousandths, expected 12-month value in minor units.
Revises 0020 for now: 0021 and 0022 are being written beside it; the chain is mended at merge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "forecast_fits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("members_used", sa.Integer(), nullable=False),
        sa.Column("repeat_buyers", sa.Integer(), nullable=False),
        sa.Column("r", sa.Float(), nullable=True),
        sa.Column("alpha", sa.Float(), nullable=True),
        sa.Column("a", sa.Float(), nullable=True),
        sa.Column("b", sa.Float(), nullable=True),
        sa.Column("p", sa.Float(), nullable=True),
        sa.Column("q", sa.Float(), nullable=True),
        sa.Column("v", sa.Float(), nullable=True),
        sa.Column("diagnostics", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_forecast_fits_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forecast_fits")),
    )
    op.create_index("ix_forecast_fits_program_fitted", "forecast_fits", ["program_id", "fitted_at"])
    op.create_table(
        "member_forecasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("fit_id", sa.Integer(), nullable=False),
        sa.Column("p_alive_ppm", sa.Integer(), nullable=False),
        sa.Column("expected_purchases_90d_milli", sa.BigInteger(), nullable=False),
        sa.Column("expected_value_12m_minor", sa.BigInteger(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fit_id"], ["forecast_fits.id"], name=op.f("fk_member_forecasts_fit_id_forecast_fits")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_member_forecasts_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["programs.id"], name=op.f("fk_member_forecasts_program_id_programs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_forecasts")),
    )
    op.create_index(
        "ix_member_forecasts_program_member",
        "member_forecasts",
        ["program_id", "member_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_member_forecasts_program_member", table_name="member_forecasts")
    op.drop_table("member_forecasts")
    op.drop_index("ix_forecast_fits_program_fitted", table_name="forecast_fits")
    op.drop_table("forecast_fits")
