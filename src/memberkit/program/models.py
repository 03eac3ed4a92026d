"""A loyalty program (会员计划): the scheme its tiers, rules and catalog belong to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class Program(Base):
    """One merchant's loyalty scheme; every other table is keyed by it."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    points_name: Mapped[str] = mapped_column(String(32), default="积分")
    # How many points pay for one currency unit (100 points = 1 CNY by default).
    points_per_currency_unit: Mapped[int] = mapped_column(Integer, default=100)
    earning_rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    points_validity: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The tier ladder (see memberkit.tier.rules); None means the default four tiers.
    tier_ladder: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Growth per behaviour other than orders (see memberkit.growth.rules); None: the default.
    growth_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Stored-value bonuses and cap (see memberkit.wallet.rules); None: the default.
    wallet_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Time bounds, cross-store returns, retention (see memberkit.program.policies); None: default.
    policies: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
