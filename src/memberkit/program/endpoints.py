"""REST endpoints of the program's settings: every section, and the older program endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header

from memberkit.api.context import ChainAdminContext, ReadContext
from memberkit.errors import InvalidInput
from memberkit.kit.i18n import _, negotiate, translate
from memberkit.kit.schemas import FreeInput
from memberkit.kit.sections import Section
from memberkit.program import service
from memberkit.program.schemas import (
    ProgramOut,
    ProgramPatch,
    SectionOut,
    SectionsOut,
)
from memberkit.program.service import ProgramConfig
from memberkit.sections import SECTIONS

router = APIRouter(prefix="/api/v1/program", tags=["program"])


class SectionNotJson(InvalidInput):
    """A settings section sent with another content type than JSON."""

    status = 400
    code = "invalid_body"
    message = _("Send the {section} section as a JSON object, with Content-Type: application/json.")


def _out(config: ProgramConfig) -> ProgramOut:
    return ProgramOut(
        code=config.code,
        name=config.name,
        currency=config.currency,
        points_name=config.points_name,
        points_per_currency_unit=config.points_per_currency_unit,
        earning_rules=config.raw_earning,
        points_validity=config.raw_validity,
        policies=config.policies.config(),
    )


@router.get("", response_model=ProgramOut)
def get_program(context: ReadContext) -> ProgramOut:
    """Return the program's settings."""
    return _out(context.program)


@router.patch("", response_model=ProgramOut)
def change_program(body: ProgramPatch, context: ChainAdminContext) -> ProgramOut:
    """Change earning rules, points validity, the points-to-money rate or policies (admin keys).

    Invalid settings are refused with 422 ``invalid_program_settings`` and change nothing.
    Setting the same values again changes nothing, so a repeat is harmless.
    """
    with context.transaction() as session:
        config = service.configure(
            session,
            program=context.program,
            earning_rules=body.earning_rules,
            points_validity=body.points_validity,
            points_per_currency_unit=body.points_per_currency_unit,
            policies=body.policies,
        )
    return _out(config)


settings_router = APIRouter(prefix="/api/v1/settings", tags=["settings"])


def _section_out(config: ProgramConfig, section: Section[Any], locale: str) -> SectionOut:
    return SectionOut(
        name=section.name,
        title=translate(section.title, locale),
        json_schema=section.schema(),
        value=config.shown(section),
    )


@settings_router.get("", response_model=SectionsOut)
def list_settings(
    context: ReadContext, accept_language: Annotated[str | None, Header()] = None
) -> SectionsOut:
    """List the settings sections with the JSON Schema and current value of each."""
    locale = negotiate(accept_language)
    return SectionsOut(
        sections=[_section_out(context.program, section, locale) for section in SECTIONS]
    )


@settings_router.get("/{section}")
def get_setting(section: str, context: ReadContext) -> Any:
    """Return one section's value (unknown sections: 404 ``unknown_settings_section``)."""
    return context.program.shown(service.section_named(section))


@settings_router.put("/{section}")
def put_setting(
    section: str, context: ChainAdminContext, body: Annotated[FreeInput | None, Body()] = None
) -> Any:
    """Replace one section's value (admin keys not bound to a store); returns it as stored.

    The value is the whole section: one that leaves out a field the section holds is refused
    (422 ``invalid_program_settings``, naming them; ``PATCH`` changes some fields). An invalid
    value is refused with 422 ``invalid_program_settings`` and changes nothing; the same value
    again changes nothing. A section with checks of its own applies them as its
    older endpoint does (the ladder: ``moves`` and 409 ``tiers_in_use``, as ``PUT /tiers``).
    """
    named = service.section_named(section)
    if body is not None and isinstance(body.root, bytes | bytearray):
        # Not sent as JSON: FastAPI hands a body of another content type over as bytes.
        raise SectionNotJson(section=named.name)
    with context.transaction() as session:
        config = service.replace(
            session,
            program=context.program,
            section=named,
            value=body.root if body is not None else None,
            actor=f"api:{context.principal.name}",
        )
    return config.shown(named)


@settings_router.patch("/{section}")
def patch_setting(
    section: str, context: ChainAdminContext, body: Annotated[FreeInput | None, Body()] = None
) -> Any:
    """Change some fields of one section, keeping the others; returns it as stored.

    A JSON merge patch of the section's top level: a field given replaces it, a field given as
    null resets it to its default. The result is checked as a PUT of it would be (422
    ``invalid_program_settings``, nothing changed); the same patch again changes nothing.
    """
    named = service.section_named(section)
    if body is not None and isinstance(body.root, bytes | bytearray):
        raise SectionNotJson(section=named.name)
    with context.transaction() as session:
        config = service.patch(
            session,
            program=context.program,
            section=named,
            changes=body.root if body is not None else None,
            actor=f"api:{context.principal.name}",
        )
    return config.shown(named)
