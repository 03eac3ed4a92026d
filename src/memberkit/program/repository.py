"""SQL of programs and their settings sections, and the per-request settings check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from memberkit.db import peek
from memberkit.program.models import Program, ProgramSetting


def settings_version(engine: Engine, program_id: int) -> Any:
    """Return the program's settings version as committed now (its ``updated_at``)."""
    row = peek(engine, "SELECT updated_at FROM programs WHERE id = ?", program_id)
    return row[0] if row is not None else None


def stored_sections(session: Session, *, program_id: int) -> dict[str, Any]:
    """Return the program's stored section values by name (sections never set are absent)."""
    rows = session.execute(
        select(ProgramSetting.section, ProgramSetting.value).where(
            ProgramSetting.program_id == program_id
        )
    )
    return {section: value for section, value in rows}


def stored_section(session: Session, *, program_id: int, section: str) -> Any:
    """Return one stored section value of a program; None when it was never set."""
    return session.scalar(
        select(ProgramSetting.value).where(
            ProgramSetting.program_id == program_id, ProgramSetting.section == section
        )
    )


def lock_settings(session: Session, *, program_id: int) -> int:
    """Lock the program's row against other settings changes; returns its points rate.

    ``FOR NO KEY UPDATE`` on PostgreSQL, so rows that only reference the program (members,
    orders) are not held up; SQLite has one writer anyway.
    """
    rate = session.scalar(
        select(Program.points_per_currency_unit)
        .where(Program.id == program_id)
        .with_for_update(key_share=True)
    )
    assert rate is not None
    return rate


def write_sections(
    session: Session,
    *,
    program_id: int,
    values: Mapping[str, Any],
    existing: set[str],
    now: datetime,
    points_per_currency_unit: int | None = None,
) -> None:
    """Store section values (``existing`` names those with a row) and move the version.

    The caller holds :func:`lock_settings`.
    """
    for section, value in values.items():
        if section in existing:
            session.execute(
                update(ProgramSetting)
                .where(ProgramSetting.program_id == program_id, ProgramSetting.section == section)
                .values(value=value, updated_at=now)
            )
        else:
            session.execute(
                insert(ProgramSetting).values(
                    program_id=program_id, section=section, value=value, updated_at=now
                )
            )
    changes: dict[str, Any] = {"updated_at": now}  # the version every process checks
    if points_per_currency_unit is not None:
        changes["points_per_currency_unit"] = points_per_currency_unit
    session.execute(update(Program).where(Program.id == program_id).values(**changes))


def program_id_by_code(session: Session, code: str) -> int | None:
    """The id of the program with this code, or None."""
    return session.scalar(select(Program.id).where(Program.code == code))


def load_program(
    session: Session, *, code: str | None = None, program_id: int | None = None
) -> Program:
    """The program row with this code (or id); it must exist."""
    condition = Program.code == code if code is not None else Program.id == program_id
    return session.scalars(select(Program).where(condition)).one()
