"""What a domain's pages (its ``views.py``) use from the staff and audit domains.

A domain's ``views.py`` may import the staff pages' face (``memberkit.faces``) but not the
staff or audit domains themselves, which sit above most domains: roles and the audit log
reach those pages through here.
"""

from __future__ import annotations

from typing import Any

from memberkit.audit import service as audit_service
from memberkit.faces.web import StaffContext
from memberkit.staff.rules import Action, may

__all__ = ["Action", "may", "may_do", "record"]


def may_do(staff: StaffContext, action: Action) -> bool:
    """Tell whether the signed-in staff member's role may do ``action`` (to show its buttons)."""
    return may(staff.actor.role, action)


def record(
    session: Any,
    staff: StaffContext,
    *,
    action: str,
    subject_type: str,
    subject_id: str | int,
    before: Any = None,
    after: Any = None,
) -> None:
    """Write the audit entry of a change the staff member made through a page."""
    audit_service.record(
        session,
        program_id=staff.program.id,
        origin=staff.origin,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )
