"""The console's navigation: the one list a new room of the console adds its line to.

A domain's pages (its ``views.py``) are listed here by path; the console's layout shows
the lines the staff member's role may use.

Each entry is shown to the roles that may do its action (:mod:`memberkit.staff.rules`).
"""

from __future__ import annotations

from dataclasses import dataclass

from memberkit.kit.i18n import _
from memberkit.staff.rules import Action, Actor, may


@dataclass(frozen=True)
class Entry:
    """One line of the console's menu."""

    label: str
    path: str
    icon: str
    action: Action


NAV: tuple[Entry, ...] = (
    Entry(_("Dashboard"), "/admin", "ti-dashboard", Action.view_reports),
    Entry(_("Member list"), "/admin/members", "ti-users", Action.view_members),
    Entry(_("Liability"), "/admin/liability", "ti-scale", Action.view_reports),
    Entry(_("Coupons"), "/admin/coupons", "ti-ticket", Action.view_coupons),
    Entry(_("Settings"), "/admin/settings", "ti-settings", Action.view_settings),
    Entry(_("Tiers"), "/admin/tiers", "ti-stairs-up", Action.view_settings),
    Entry(_("Stores"), "/admin/stores", "ti-building-store", Action.manage_stores),
    Entry(_("Staff"), "/admin/staff", "ti-users-group", Action.manage_staff),
    Entry(_("API keys"), "/admin/api-keys", "ti-key", Action.manage_api_keys),
    Entry(_("Webhooks"), "/admin/webhooks", "ti-webhook", Action.manage_webhooks),
    Entry(_("Jobs"), "/admin/jobs", "ti-player-play", Action.run_jobs),
    Entry(_("Audit log"), "/admin/audit", "ti-history", Action.view_audit),
    Entry(_("Cashier"), "/pos", "ti-cash-register", Action.post_orders),
)


def entries(actor: Actor) -> list[Entry]:
    """The menu lines this staff member's role may use (store-bound roles: for their stores)."""
    return [entry for entry in NAV if may(actor.role, entry.action)]
