"""Reads of programs for jobs and reports."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from memberkit.program.models import Program


def program_codes(session: Session) -> list[str]:
    """Return the code of every program in the database, oldest first."""
    return list(session.scalars(select(Program.code).order_by(Program.id)))
