"""The program: its configuration, read often and cached in memory.

A program's settings are sections (see :mod:`memberkit.sections`), each owned by a domain
and stored as one row per program and section; this module knows none of them by their rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.errors import InvalidInput, NotFound
from memberkit.kit.i18n import Text, TextError, _
from memberkit.kit.sections import Section
from memberkit.kit.time import utcnow
from memberkit.program import repository as program_repository
from memberkit.program.models import Program
from memberkit.sections import BY_NAME, SECTIONS

if TYPE_CHECKING:  # the types of the thin properties below; the sections own the parsing
    from zoneinfo import ZoneInfo

    from memberkit.growth.rules import Behaviour, Decay, SpendCap
    from memberkit.growth.settings import GrowthSettings
    from memberkit.ledger.validity import ValidityPolicy
    from memberkit.order.rules import EarningRules
    from memberkit.program.policies import Policies
    from memberkit.tier.rules import Ladder
    from memberkit.wallet.rules import WalletRules

DEFAULT_CODE = "default"
T = TypeVar("T")


class InvalidProgramSettings(InvalidInput):
    """Earning rules or validity policy that do not make sense."""

    code = "invalid_program_settings"
    message = _("Invalid program settings: {problem}")


class UnknownSection(NotFound):
    """A settings section that no domain registers."""

    code = "unknown_settings_section"
    message = _("There is no settings section {section}; the sections are {sections}.")


@dataclass(frozen=True)
class ProgramConfig:
    """What the hot path needs of a program, parsed once.

    ``values`` holds each section parsed, ``stored`` its JSON as stored (or its default), both
    by section name; read a section with :meth:`section`.
    """

    id: int
    code: str
    name: str
    currency: str
    points_name: str
    points_per_currency_unit: int
    values: Mapping[str, Any]
    stored: Mapping[str, Any]

    def section(self, section: Section[T]) -> T:
        """Return one section's parsed value."""
        return cast(T, self.values[section.name])

    def shown(self, section: Section[Any]) -> Any:
        """Return one section's JSON as ``GET`` shows it."""
        return self.stored[section.name]

    # Thin properties over the sections, for the code that reads them by these names.
    @property
    def tz(self) -> ZoneInfo:
        """The program's timezone: its local days (calendar rules) are in it."""
        return cast("ZoneInfo", self.values["calendar"])

    @property
    def timezone(self) -> str:
        """The IANA name of the program's timezone."""
        return self.tz.key

    @property
    def earning(self) -> EarningRules:
        """The earning rules."""
        return cast("EarningRules", self.values["earning"])

    @property
    def validity(self) -> ValidityPolicy:
        """The points validity policy."""
        return cast("ValidityPolicy", self.values["validity"])

    @property
    def ladder(self) -> Ladder:
        """The tier ladder."""
        return cast("Ladder", self.values["ladder"])

    @property
    def growth(self) -> GrowthSettings:
        """The growth rules: behaviours, spend cap, decay."""
        return cast("GrowthSettings", self.values["growth"])

    @property
    def behaviours(self) -> dict[str, Behaviour]:
        """Growth per behaviour, by behaviour type."""
        return self.growth.behaviours

    @property
    def decay(self) -> Decay | None:
        """The growth decay, if the growth rules set one."""
        return self.growth.decay

    @property
    def spend_cap(self) -> SpendCap | None:
        """The cap on growth from spending, if the growth rules set one."""
        return self.growth.spend_cap

    @property
    def wallet(self) -> WalletRules:
        """The stored-value rules."""
        return cast("WalletRules", self.values["wallet"])

    @property
    def policies(self) -> Policies:
        """The program's policies."""
        return cast("Policies", self.values["policies"])

    @property
    def raw_earning(self) -> dict[str, Any]:
        """The earning rules as stored."""
        return dict(self.stored["earning"])

    @property
    def raw_validity(self) -> dict[str, Any]:
        """The validity policy as stored."""
        return dict(self.stored["validity"])

    @property
    def raw_ladder(self) -> dict[str, Any]:
        """The tier ladder as stored."""
        return dict(self.stored["ladder"])

    @property
    def raw_growth(self) -> dict[str, Any]:
        """The growth rules as stored."""
        return dict(self.stored["growth"])

    @property
    def raw_wallet(self) -> dict[str, Any]:
        """The stored-value rules as stored."""
        return dict(self.stored["wallet"])


#: code -> (configuration, the settings version it was read at).
_cache: dict[str, tuple[ProgramConfig, Any]] = {}


def _config(session: Session, program: Program) -> ProgramConfig:
    rows = program_repository.stored_sections(session, program_id=program.id)
    stored = {s.name: rows[s.name] if s.name in rows else s.default() for s in SECTIONS}
    return ProgramConfig(
        id=program.id,
        code=program.code,
        name=program.name,
        currency=program.currency,
        points_name=program.points_name,
        points_per_currency_unit=program.points_per_currency_unit,
        values={s.name: s.parse(stored[s.name]) for s in SECTIONS},
        stored=stored,
    )


def ensure_default(session: Session) -> int:
    """Create the default program and its system accounts if missing; returns its id.

    Its settings are the sections' defaults until changed. What the domains open for every
    program (the ledger's system accounts) comes from their sections' ``setup``.
    """
    program_id = program_repository.program_id_by_code(session, DEFAULT_CODE)
    if program_id is None:
        try:
            with session.begin_nested():
                program = Program(
                    code=DEFAULT_CODE,
                    name="Memberkit",
                    currency="CNY",
                    points_name="积分",
                    points_per_currency_unit=100,
                )
                session.add(program)
                session.flush()
                program_id = program.id
        except IntegrityError:
            program_id = program_repository.program_id_by_code(session, DEFAULT_CODE)
    assert program_id is not None
    for section in SECTIONS:
        if section.setup is not None:
            section.setup(session, program_id=program_id)
    return program_id


def get(session: Session, code: str = DEFAULT_CODE) -> ProgramConfig:
    """Return a program's parsed configuration, from memory after the first read.

    The cache is per process; :func:`cached` checks on every request that no process has
    changed the settings since, so a change is seen everywhere from the next request on.
    """
    entry = _cache.get(code)
    if entry is None:
        engine = session.get_bind()
        program_id = program_repository.program_id_by_code(session, code)
        # The version first: a change committed in between makes it stale, never the config.
        version = (
            program_repository.settings_version(engine, program_id)  # type: ignore[arg-type]
            if program_id is not None
            else None
        )
        program = program_repository.load_program(session, code=code)
        entry = _cache[code] = (_config(session, program), version)
    return entry[0]


def by_id(session: Session, program_id: int) -> ProgramConfig:
    """Return the configuration of the program with this id (see :func:`get`)."""
    code = program_repository.load_program(session, program_id=program_id).code
    return cached(session.get_bind(), code) or get(session, code)  # type: ignore[arg-type]


def cached(engine: Engine, code: str = DEFAULT_CODE) -> ProgramConfig | None:
    """Return a program's configuration if it is in memory and still current.

    One primary-key read outside any transaction tells whether any process changed the
    program's settings since they were read; if so the cached copy is dropped.
    """
    entry = _cache.get(code)
    if entry is None:
        return None
    config, version = entry
    if program_repository.settings_version(engine, config.id) != version:
        _cache.pop(code, None)
        return None
    return config


def forget_cache() -> None:
    """Drop cached configuration (after a change, and between test databases)."""
    _cache.clear()


def stored(session: Session, *, program_id: int, name: str) -> Any:
    """Return one section of a program parsed, as this transaction sees it (not cached)."""
    section = section_named(name)
    raw = program_repository.stored_section(session, program_id=program_id, section=name)
    return section.parse(section.default() if raw is None else raw)


def section_named(name: str) -> Section[Any]:
    """Return the registered section called ``name``; refuse an unknown one."""
    section = BY_NAME.get(name)
    if section is None:
        raise UnknownSection(section=name, sections=", ".join(s.name for s in SECTIONS))
    return section


@contextmanager
def _refusing_invalid() -> Iterator[None]:
    """Turn a section's refusal into ``invalid_program_settings``, in the caller's language."""
    try:
        yield
    except TextError as exc:
        raise InvalidProgramSettings(problem=exc.text) from exc
    except (ArithmeticError, TypeError, ValueError, AttributeError, KeyError) as exc:
        # Untrusted JSON of any shape: whatever the parsers trip on is the caller's error.
        raise InvalidProgramSettings(
            problem=Text(_("unreadable settings ({error})"), error=str(exc))
        ) from exc


def _require_fields(section: Section[Any], value: Any) -> None:
    """Refuse a value that is no object, or leaves out a field the section's schema requires."""
    missing = section.missing(value)
    if missing is None:
        raise InvalidProgramSettings(
            problem=Text(_("the {section} section is a JSON object"), section=section.name)
        )
    if missing:
        raise InvalidProgramSettings(
            problem=Text(_("required fields missing: {fields}"), fields=", ".join(missing))
        )


def change(
    session: Session,
    *,
    program: ProgramConfig,
    section: Section[Any],
    value: Any,
    actor: str | None = None,
) -> ProgramConfig:
    """Replace one section of a program's settings; refuses a bad value, changing nothing.

    A section with its own use case (``apply``) goes through it, so its cross checks hold
    whichever endpoint the change comes from. The same value again changes nothing.
    """
    if section.apply is None:
        return store(session, program=program, values={section.name: value})
    try:
        return cast(
            ProgramConfig, section.apply(session, program=program, value=value, actor=actor)
        )
    except TextError as exc:
        raise InvalidProgramSettings(problem=exc.text) from exc


def replace(
    session: Session,
    *,
    program: ProgramConfig,
    section: Section[Any],
    value: Any,
    actor: str | None = None,
) -> ProgramConfig:
    """Replace one section with a whole new value (``PUT``); refuses a part of one.

    A value that leaves out a field the section holds now is refused, naming the fields, so a
    client that sends only what it means to change cannot reset the rest to their defaults
    unawares; :func:`patch` changes some fields and keeps the others.
    """
    if section.apply is not None:
        # Its own use case reads its own shape (the ladder takes ``moves`` beside the tiers).
        return change(session, program=program, section=section, value=value, actor=actor)
    # What is wrong with the value itself is told first: it says more than what is missing.
    _require_fields(section, value)
    with _refusing_invalid():
        section.parse(value)
    current = program.shown(section)
    if isinstance(value, Mapping) and isinstance(current, Mapping):
        left_out = [name for name in current if name not in value]
        if left_out:
            raise InvalidProgramSettings(
                problem=Text(
                    _(
                        "a PUT replaces the whole section, and these fields are missing: "
                        "{fields}; send them too, or change only some fields with PATCH"
                    ),
                    fields=", ".join(left_out),
                )
            )
    return change(session, program=program, section=section, value=value, actor=actor)


def patch(
    session: Session,
    *,
    program: ProgramConfig,
    section: Section[Any],
    changes: Any,
    actor: str | None = None,
) -> ProgramConfig:
    """Change some fields of one section (``PATCH``, a JSON merge patch of its top level).

    A field given replaces the field held; a field given as null is reset to the section's
    default (what a program that never set the section has; a field it has none of is left
    out, as a null optional field is);
    every other field keeps its value. The merged value is then checked and stored as a whole
    (:func:`change`), so a patch is refused for exactly what a PUT of the result would be.
    """
    if not isinstance(changes, Mapping):
        raise InvalidProgramSettings(
            problem=Text(_("the {section} section is a JSON object"), section=section.name)
        )
    merged = dict(program.shown(section))
    default = section.default()
    defaults = default if isinstance(default, Mapping) else {}
    for name, given in changes.items():
        if given is not None:
            merged[name] = given
        elif name in defaults:
            merged[name] = defaults[name]  # the section's own default, not an empty value
        else:
            merged.pop(name, None)
    return change(session, program=program, section=section, value=merged, actor=actor)


def store(
    session: Session,
    *,
    program: ProgramConfig,
    values: Mapping[str, Any],
    points_per_currency_unit: int | None = None,
) -> ProgramConfig:
    """Validate and store section values (by name) of a program, changing nothing if any is bad.

    A value must be an object holding every field its section's schema requires (a PUT of
    ``{}`` to a section with required fields is refused, naming them); the section's parser
    then decides the rest. Each value is stored as its section renders it: its canonical form,
    with every default filled in, so no reader meets a shape the parser would read otherwise.
    Sections whose value is unchanged are not written; when nothing changes, not even the
    settings version moves.
    """
    rendered: dict[str, Any] = {}
    for name, raw in values.items():
        section = section_named(name)
        _require_fields(section, raw)
        with _refusing_invalid():
            rendered[name] = section.render(raw, section.parse(raw))
    if points_per_currency_unit is not None and points_per_currency_unit < 1:
        raise InvalidProgramSettings(problem=Text(_("points_per_currency_unit must be at least 1")))
    rate = program_repository.lock_settings(session, program_id=program.id)
    current = program_repository.stored_sections(session, program_id=program.id)
    changed = {name: value for name, value in rendered.items() if current.get(name) != value}
    new_rate = points_per_currency_unit if points_per_currency_unit not in (None, rate) else None
    if changed or new_rate is not None:
        program_repository.write_sections(
            session,
            program_id=program.id,
            values=changed,
            existing=set(current),
            now=utcnow(),
            points_per_currency_unit=new_rate,
        )
    forget_cache()
    # Again once the change is committed, so that no process keeps the old settings that a
    # concurrent request may have cached between this update and the commit.
    event.listen(session, "after_commit", lambda _session: forget_cache(), once=True)
    # Parsed from the transaction's view but not cached: the change is not committed yet.
    return _config(session, program_repository.load_program(session, program_id=program.id))


def configure(
    session: Session,
    *,
    program: ProgramConfig,
    earning_rules: dict[str, Any] | None = None,
    points_validity: dict[str, Any] | None = None,
    points_per_currency_unit: int | None = None,
    tier_ladder: dict[str, Any] | None = None,
    growth_rules: dict[str, Any] | None = None,
    wallet_rules: dict[str, Any] | None = None,
    policies: dict[str, Any] | None = None,
) -> ProgramConfig:
    """Validate and store new settings of a program; refuses bad settings, changing nothing.

    The keywords of the endpoints that predate sections; ``policies`` change only the
    policies given.
    """
    by_section = {
        "earning": earning_rules,
        "validity": points_validity,
        "ladder": tier_ladder,
        "growth": growth_rules,
        "wallet": wallet_rules,
        "policies": None if policies is None else {**program.policies.config(), **policies},
    }
    return store(
        session,
        program=program,
        values={name: value for name, value in by_section.items() if value is not None},
        points_per_currency_unit=points_per_currency_unit,
    )
