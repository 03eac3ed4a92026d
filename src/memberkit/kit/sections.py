"""Settings sections: one named part of a program's settings, owned by the domain it rules.

Each domain declares its section in its ``settings.py`` (name, parser, default, schema);
``memberkit.sections`` lists them all. A program stores one JSON value per section, and the
program's configuration holds each value parsed (``program.section(EARNING)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")


class Apply(Protocol):
    """A section's own use case for a change: cross checks beyond its parser, then the write.

    Returns the program's new configuration (a ``ProgramConfig``).
    """

    def __call__(self, session: Session, *, program: Any, value: Any, actor: str | None) -> Any:
        """Validate and store ``value`` as the section of ``program``; return the new config."""
        ...


class Setup(Protocol):
    """What a domain opens for a program, idempotently: existing rows are left alone."""

    def __call__(self, session: Session, *, program_id: int) -> None:
        """Create what the program is missing."""
        ...


def as_given(raw: Any, _parsed: object) -> Any:
    """Store and show a valid value exactly as it was given."""
    return raw


@dataclass(frozen=True)
class Section(Generic[T]):
    """One settings section.

    ``parse`` turns the stored JSON into the rule object, raising the domain's own
    :class:`~memberkit.kit.i18n.TextError` for a value that does not make sense (the
    program service turns it into ``invalid_program_settings``). ``default`` gives the JSON
    of a program that never set the section. ``render`` gives what is stored and shown for a
    valid value (its canonical form where the rules have one). ``model`` describes the value
    for forms and documentation; the parser, not the model, decides what is valid. ``apply``,
    when set, is the use case every change of the section goes through. ``setup``, when set,
    opens what the owning domain needs for every program (the ledger's system accounts) and
    is run whenever a program is made sure of (``program.service.ensure_default``).
    """

    name: str
    title: str
    parse: Callable[[Any], T]
    default: Callable[[], Any]
    model: type[BaseModel]
    render: Callable[[Any, T], Any] = as_given
    apply: Apply | None = None
    setup: Setup | None = None

    def schema(self) -> dict[str, Any]:
        """Return the JSON Schema of the section's value."""
        return self.model.model_json_schema()

    def missing(self, value: Any) -> list[str] | None:
        """Return the fields the schema requires that ``value`` leaves out (None: no object).

        What a PUT must give: a required field is one without a default the readers could
        fall back on, so leaving it out is refused rather than stored as an empty value.
        """
        if not isinstance(value, Mapping):
            return None
        return [name for name in self.schema().get("required", []) if name not in value]
