"""The program: its configuration, read often and cached in memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.errors import InvalidInput
from memberkit.growth.rules import (
    DEFAULT_GROWTH_RULES,
    Behaviour,
    Decay,
    GrowthRulesError,
    SpendCap,
    parse_decay,
    parse_growth_rules,
    parse_spend_cap,
)
from memberkit.kit.i18n import Text, _
from memberkit.kit.time import utcnow
from memberkit.ledger.repository import ensure_system_accounts
from memberkit.ledger.validity import ValidityError, ValidityPolicy
from memberkit.order.rules import EarningRules, RulesError
from memberkit.program import repository as program_repository
from memberkit.program.models import Program
from memberkit.program.policies import Policies, PoliciesError, parse_policies
from memberkit.tier.rules import DEFAULT_LADDER, Ladder, LadderError, parse_ladder
from memberkit.wallet.rules import (
    DEFAULT_WALLET_RULES,
    WalletRules,
    WalletRulesError,
    parse_wallet_rules,
)

DEFAULT_CODE = "default"


class InvalidProgramSettings(InvalidInput):
    """Earning rules or validity policy that do not make sense."""

    code = "invalid_program_settings"
    message = _("Invalid program settings: {problem}")


@dataclass(frozen=True)
class ProgramConfig:
    """What the hot path needs of a program, parsed once."""

    id: int
    code: str
    name: str
    currency: str
    points_name: str
    points_per_currency_unit: int
    earning: EarningRules
    validity: ValidityPolicy
    raw_earning: dict[str, Any]
    raw_validity: dict[str, Any]
    ladder: Ladder
    raw_ladder: dict[str, Any]
    behaviours: dict[str, Behaviour]
    raw_growth: dict[str, Any]
    decay: Decay | None
    spend_cap: SpendCap | None
    wallet: WalletRules
    raw_wallet: dict[str, Any]
    policies: Policies


#: code -> (configuration, the settings version it was read at).
_cache: dict[str, tuple[ProgramConfig, Any]] = {}


def _config(program: Program) -> ProgramConfig:
    return ProgramConfig(
        id=program.id,
        code=program.code,
        name=program.name,
        currency=program.currency,
        points_name=program.points_name,
        points_per_currency_unit=program.points_per_currency_unit,
        earning=EarningRules.from_config(program.earning_rules),
        validity=ValidityPolicy.from_config(program.points_validity),
        raw_earning=dict(program.earning_rules),
        raw_validity=dict(program.points_validity),
        ladder=parse_ladder(program.tier_ladder or DEFAULT_LADDER),
        raw_ladder=dict(program.tier_ladder or DEFAULT_LADDER),
        behaviours=parse_growth_rules(program.growth_rules or DEFAULT_GROWTH_RULES),
        raw_growth=dict(program.growth_rules or DEFAULT_GROWTH_RULES),
        decay=parse_decay(program.growth_rules or DEFAULT_GROWTH_RULES),
        spend_cap=parse_spend_cap(program.growth_rules or DEFAULT_GROWTH_RULES),
        wallet=parse_wallet_rules(program.wallet_rules or DEFAULT_WALLET_RULES),
        raw_wallet=dict(program.wallet_rules or DEFAULT_WALLET_RULES),
        policies=parse_policies(program.policies),
    )


def ensure_default(session: Session) -> int:
    """Create the default program and its system accounts if missing; returns its id."""
    program_id = session.scalar(select(Program.id).where(Program.code == DEFAULT_CODE))
    if program_id is None:
        try:
            with session.begin_nested():
                program = Program(
                    code=DEFAULT_CODE,
                    name="Memberkit",
                    currency="CNY",
                    points_name="积分",
                    points_per_currency_unit=100,
                    earning_rules={"points_per_unit": "1", "growth_per_unit": "1"},
                    points_validity={"type": "end_of_year", "years": 1},
                )
                session.add(program)
                session.flush()
                program_id = program.id
        except IntegrityError:
            program_id = session.scalar(select(Program.id).where(Program.code == DEFAULT_CODE))
    assert program_id is not None
    ensure_system_accounts(session, program_id=program_id)
    return program_id


def get(session: Session, code: str = DEFAULT_CODE) -> ProgramConfig:
    """Return a program's parsed configuration, from memory after the first read.

    The cache is per process; :func:`cached` checks on every request that no process has
    changed the settings since, so a change is seen everywhere from the next request on.
    """
    entry = _cache.get(code)
    if entry is None:
        engine = session.get_bind()
        program_id = session.scalar(select(Program.id).where(Program.code == code))
        # The version first: a change committed in between makes it stale, never the config.
        version = (
            program_repository.settings_version(engine, program_id)  # type: ignore[arg-type]
            if program_id is not None
            else None
        )
        program = session.scalars(select(Program).where(Program.code == code)).one()
        entry = _cache[code] = (_config(program), version)
    return entry[0]


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
    """Validate and store new settings of a program; refuses bad settings, changing nothing."""
    values: dict[str, Any] = {}
    try:
        if earning_rules is not None:
            EarningRules.from_config(earning_rules)
            values["earning_rules"] = earning_rules
        if points_validity is not None:
            ValidityPolicy.from_config(points_validity)
            values["points_validity"] = points_validity
        if tier_ladder is not None:
            parse_ladder(tier_ladder)
            values["tier_ladder"] = tier_ladder
        if growth_rules is not None:
            parse_growth_rules(growth_rules)
            values["growth_rules"] = growth_rules
        if wallet_rules is not None:
            values["wallet_rules"] = parse_wallet_rules(wallet_rules).config()
        if policies is not None:
            values["policies"] = parse_policies({**program.policies.config(), **policies}).config()
    except (
        RulesError,
        ValidityError,
        LadderError,
        GrowthRulesError,
        WalletRulesError,
        PoliciesError,
    ) as exc:
        raise InvalidProgramSettings(problem=exc.text) from exc
    except (ArithmeticError, TypeError, ValueError, AttributeError) as exc:
        # Untrusted JSON of any shape: whatever the parsers trip on is the caller's error.
        raise InvalidProgramSettings(
            problem=Text(_("unreadable settings ({error})"), error=str(exc))
        ) from exc
    if points_per_currency_unit is not None:
        if points_per_currency_unit < 1:
            raise InvalidProgramSettings(
                problem=Text(_("points_per_currency_unit must be at least 1"))
            )
        values["points_per_currency_unit"] = points_per_currency_unit
    if values:
        values["updated_at"] = utcnow()  # the settings version every process checks
        session.execute(update(Program).where(Program.id == program.id).values(**values))
    forget_cache()
    # Again once the change is committed, so that no process keeps the old settings that a
    # concurrent request may have cached between this update and the commit.
    event.listen(session, "after_commit", lambda _session: forget_cache(), once=True)
    # Parsed from the transaction's view but not cached: the change is not committed yet.
    return _config(session.scalars(select(Program).where(Program.id == program.id)).one())
