"""API keys: stored as a SHA-256 hash, with scopes and an optional store binding."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from memberkit.db import Base
from memberkit.kit.time import utcnow
from memberkit.kit.types import UTCDateTime


class Scope(StrEnum):
    """What a key may do: admin everything, pos the till's work, read only GETs."""

    admin = "admin"
    pos = "pos"
    read = "read"


class ApiKey(Base):
    """A credential of an integrator or a till."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
