"""Stores (门店): places of sale, direct (直营) or franchised (加盟)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class StoreType(StrEnum):
    """Ownership of a store."""

    direct = "direct"
    franchise = "franchise"


class Store(Base):
    """A place of sale of one program."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("program_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16), default=StoreType.direct)
    city: Mapped[str] = mapped_column(String(50), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
