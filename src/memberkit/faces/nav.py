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
    """One line of the console's menu; ``group`` names the dropdown it is listed in."""

    label: str
    path: str
    icon: str
    action: Action
    group: str | None = None
    #: Only for roles not bound to stores (its page shows the whole program's figures).
    whole_program: bool = False


@dataclass(frozen=True)
class Group:
    """A dropdown of the menu: the lines of one part of the console."""

    key: str
    label: str
    icon: str
    entries: tuple[Entry, ...]

    @property
    def paths(self) -> frozenset[str]:
        """The pages it leads to (the menu marks it while one of them is shown)."""
        return frozenset(entry.path for entry in self.entries)


#: The dropdowns, by key: their name and icon.
GROUPS: dict[str, tuple[str, str]] = {
    "marketing": (_("Marketing"), "ti-speakerphone"),
    "reports": (_("Reports"), "ti-chart-bar"),
    "system": (_("System"), "ti-adjustments"),
}

NAV: tuple[Entry, ...] = (
    Entry(_("Dashboard"), "/admin", "ti-dashboard", Action.view_reports),
    Entry(_("Member list"), "/admin/members", "ti-users", Action.view_members),
    Entry(_("Tiers"), "/admin/tiers", "ti-stairs-up", Action.view_settings, "marketing"),
    Entry(_("Benefits"), "/admin/benefits", "ti-gift", Action.view_settings, "marketing"),
    Entry(_("Coupons"), "/admin/coupons", "ti-ticket", Action.view_coupons, "marketing"),
    Entry(_("Rewards"), "/admin/rewards", "ti-shopping-bag", Action.view_settings, "marketing"),
    # Shown to whoever sees reports; a cashier hands rewards over at the till instead.
    Entry(_("Redemptions"), "/admin/redemptions", "ti-package", Action.view_reports, "marketing"),
    # Read by whoever sees reports (store-bound roles: their stores' members only).
    Entry(_("Segments"), "/admin/segments", "ti-filter", Action.view_reports, "marketing"),
    Entry(_("Liability"), "/admin/liability", "ti-scale", Action.view_reports, "reports"),
    Entry(
        _("Sales report"), "/admin/reports/sales", "ti-chart-bar", Action.view_reports, "reports"
    ),
    Entry(
        _("Points and stored value report"),
        "/admin/reports/points",
        "ti-coins",
        Action.view_reports,
        "reports",
    ),
    Entry(
        _("Members report"), "/admin/reports/members", "ti-users", Action.view_reports, "reports"
    ),
    Entry(_("RFM and lifecycle"), "/admin/rfm", "ti-chart-dots", Action.view_reports, "reports"),
    # The forecast is fitted on the whole program: a store-bound role is not shown it.
    Entry(
        _("Forecast"),
        "/admin/forecast",
        "ti-crystal-ball",
        Action.view_reports,
        "reports",
        whole_program=True,
    ),
    Entry(_("Settings"), "/admin/settings", "ti-settings", Action.view_settings, "system"),
    Entry(_("Stores"), "/admin/stores", "ti-building-store", Action.manage_stores, "system"),
    Entry(_("Staff"), "/admin/staff", "ti-users-group", Action.manage_staff, "system"),
    Entry(_("API keys"), "/admin/api-keys", "ti-key", Action.manage_api_keys, "system"),
    Entry(_("Webhooks"), "/admin/webhooks", "ti-webhook", Action.manage_webhooks, "system"),
    Entry(_("Jobs"), "/admin/jobs", "ti-player-play", Action.run_jobs, "system"),
    Entry(_("Audit log"), "/admin/audit", "ti-history", Action.view_audit, "system"),
    Entry(_("Cashier"), "/pos", "ti-cash-register", Action.post_orders),
)


def entries(actor: Actor) -> list[Entry]:
    """The menu lines this staff member's role may use (store-bound roles: for their stores)."""
    return [
        entry
        for entry in NAV
        if may(actor.role, entry.action)
        and not (entry.whole_program and actor.store_scope is not None)
    ]


def menu(actor: Actor) -> list[Entry | Group]:
    """The menu as shown: lines of no group, and each group's lines in one dropdown.

    A group stands where its first line is listed; a group none of whose lines the role may
    use is not shown.
    """
    shown: list[Entry | Group] = []
    grouped: dict[str, list[Entry]] = {}
    for entry in entries(actor):
        if entry.group is None:
            shown.append(entry)
            continue
        if entry.group not in grouped:
            grouped[entry.group] = []
            shown.append(Group(entry.group, *GROUPS[entry.group], entries=()))
        grouped[entry.group].append(entry)
    return [
        Group(item.key, item.label, item.icon, tuple(grouped[item.key]))
        if isinstance(item, Group)
        else item
        for item in shown
    ]
