"""Members from CSV rows: each row its own savepoint, so a bad row costs only itself.

A row is checked exactly as ``POST /api/v1/members`` checks a registration (the same
:class:`~memberkit.member.schemas.MemberIn`, then the same service), after two spreadsheet
conveniences: ``tags`` separated by ``;`` and a gender written 男 or 女.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError

from memberkit.db import Database
from memberkit.errors import MemberkitError
from memberkit.kit import imports
from memberkit.kit.i18n import Text, _
from memberkit.kit.imports import ImportFileError as ImportFileError
from memberkit.member import service
from memberkit.member.schemas import MemberIn
from memberkit.program import service as program_service

BATCH = 500
COLUMNS = ("phone", "name", "gender", "birthday", "email", "store_code", "channel", "tags")
#: Genders as Chinese spreadsheets write them.
GENDER_WORDS = {"男": "male", "女": "female"}


class InvalidRow(Exception):
    """A row that is not a valid registration; ``problems`` says each thing wrong."""

    def __init__(self, *problems: Text) -> None:
        self.problems = problems
        super().__init__("; ".join(str(problem) for problem in problems))

    def detail(self) -> str:
        """Return the problems in the default locale, one after another."""
        return "; ".join(problem.translate() for problem in self.problems)


@dataclass
class ImportResult:
    """Counts of an import and the rows refused, as (line number, message)."""

    created: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


def check_header(columns: Iterable[str]) -> None:
    """Refuse a header missing a required column or naming one the importer does not know."""
    imports.check_header(columns, known=COLUMNS, required=("phone",))


def parse_row(row: dict[str | None, str | list[str] | None]) -> MemberIn:
    """Read one CSV row as a registration; raises :class:`InvalidRow` naming every problem."""
    clean = {
        key.strip().lower(): value.strip()
        for key, value in row.items()
        if key and isinstance(value, str)
    }
    if any(key is None for key in row):
        raise InvalidRow(Text(_("the row has more fields than the header")))
    data: dict[str, object] = {
        name: value for name, value in clean.items() if value and name != "tags"
    }
    data["phone"] = clean.get("phone", "")
    data["tags"] = [tag.strip() for tag in clean.get("tags", "").split(";") if tag.strip()]
    if "gender" in data:
        data["gender"] = GENDER_WORDS.get(str(data["gender"]), data["gender"])
    try:
        return MemberIn.model_validate(data)
    except ValidationError as exc:
        raise InvalidRow(
            *(
                Text(
                    _("{field} {value}: {problem}"),
                    field=".".join(str(part) for part in error["loc"]) or "row",
                    value=repr(error["input"])[:60],
                    problem=error["msg"],
                )
                for error in exc.errors()
            )
        ) from None


def import_rows(
    database: Database,
    rows: list[dict[str | None, str | list[str] | None]],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Register each row's member; a phone already registered is skipped (idempotent)."""
    result = ImportResult()
    for first in range(0, len(rows), BATCH):
        with database.session_scope() as session:
            program = program_service.get(session)
            for offset, row in enumerate(rows[first : first + BATCH]):
                line = first + offset + 2  # the header is line 1
                try:
                    member = parse_row(row)
                except InvalidRow as exc:
                    result.errors.append((line, exc.detail()))
                    continue
                try:
                    with session.begin_nested():
                        service.register(
                            session,
                            program_id=program.id,
                            phone=member.phone,
                            name=member.name,
                            gender=member.gender,
                            birthday=member.birthday,
                            email=member.email,
                            store_code=member.store_code,
                            channel=member.channel,
                            tags=member.tags,
                        )
                    result.created += 1
                except service.MemberExists:
                    result.skipped += 1
                except MemberkitError as exc:
                    result.errors.append((line, exc.detail()))
        if progress is not None:
            progress(min(first + BATCH, len(rows)))
    return result
