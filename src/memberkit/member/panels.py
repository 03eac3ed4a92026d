"""The member page's panels: what higher domains show on it, registered, not imported.

The console's member page (:mod:`memberkit.member.views`) belongs to the member domain, which
sits below tiers, the wallet and orders and may not import them. Each of those domains
registers a :class:`Panel` here from its own ``views.py`` (the tier and its progress, the
wallet, orders and refunds); the page renders the panels in ``order``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig


@dataclass(frozen=True)
class Seen:
    """Who looks at which member, as a panel needs it."""

    member: Member
    program: ProgramConfig
    #: The staff member (:class:`memberkit.staff.rules.Actor`).
    actor: Any
    #: Whether the member belongs to the viewer's stores (always, for chain-wide roles): a
    #: store-bound role identifying another store's member sees no history of theirs.
    in_scope: bool
    #: Errors of a form the panel holds, by field, when it was just refused.
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    """One panel of the member page: its template and what it loads (in the page's read)."""

    name: str
    template: str
    load: Callable[[Session, Seen], dict[str, Any]]
    order: int = 100


PANELS: dict[str, Panel] = {}


def register(panel: Panel) -> Panel:
    """Add (or replace, by name) a panel of the member page."""
    PANELS[panel.name] = panel
    return panel


def panels() -> list[Panel]:
    """The registered panels in the order the page shows them."""
    return sorted(PANELS.values(), key=lambda panel: (panel.order, panel.name))
