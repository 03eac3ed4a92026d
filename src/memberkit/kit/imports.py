"""What every file import shares: the check of a header against the columns it knows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from memberkit.kit.i18n import TextError, _


class ImportFileError(TextError):
    """A file that cannot be imported at all (its header is wrong)."""


def check_header(columns: Iterable[str], *, known: Sequence[str], required: Sequence[str]) -> None:
    """Refuse a header missing a ``required`` column, naming one not ``known``, or one twice.

    An unknown column is most often a misspelt known one, whose values would be lost.
    """
    names = [column.strip().lower() for column in columns if column]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ImportFileError(
            _("the header names {columns} more than once"), columns=", ".join(twice)
        )
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ImportFileError(
            _("unknown columns: {unknown} (known: {known})"),
            unknown=", ".join(unknown),
            known=", ".join(known),
        )
    missing = [name for name in required if name not in names]
    if missing:
        raise ImportFileError(_("the header has no {columns} column"), columns=", ".join(missing))
