"""Members from CSV rows: each row its own savepoint, so a bad row costs only itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from memberkit.db import Database
from memberkit.errors import MemberkitError
from memberkit.member import service
from memberkit.program import service as program_service

BATCH = 500


@dataclass
class ImportResult:
    """Counts of an import and the rows refused, as (line number, message)."""

    created: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def import_rows(
    database: Database, rows: list[dict[str, str]], *, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Register each row's member; a phone already registered is skipped (idempotent)."""
    result = ImportResult()
    for first in range(0, len(rows), BATCH):
        with database.session_scope() as session:
            program = program_service.get(session)
            for offset, row in enumerate(rows[first : first + BATCH]):
                line = first + offset + 2  # the header is line 1
                clean = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
                try:
                    birthday = (
                        date.fromisoformat(clean["birthday"]) if clean.get("birthday") else None
                    )
                except ValueError:
                    result.errors.append(
                        (line, f"birthday {clean['birthday']!r} is not YYYY-MM-DD")
                    )
                    continue
                try:
                    with session.begin_nested():
                        service.register(
                            session,
                            program_id=program.id,
                            phone=clean.get("phone", ""),
                            name=clean.get("name") or None,
                            gender=clean.get("gender") or None,
                            birthday=birthday,
                            email=clean.get("email") or None,
                            store_code=clean.get("store_code") or None,
                            channel=clean.get("channel") or "store",
                            tags=[t for t in clean.get("tags", "").split(";") if t],
                        )
                    result.created += 1
                except service.MemberExists:
                    result.skipped += 1
                except MemberkitError as exc:
                    result.errors.append((line, exc.detail()))
        if progress is not None:
            progress(min(first + BATCH, len(rows)))
    return result
