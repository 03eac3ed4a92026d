"""What a domain's staff pages take from the face: the actions, and the audit of a change.

The audit entry of a change made through a page says who, from where, before and after.

Kept in the face because the audit and staff domains sit above members (the audit masks
personal data by the member domain's rules): a domain's ``views.py`` may import the face,
not them, and its pages still check roles and audit every change they make.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from memberkit.audit import service as audit_service
from memberkit.faces.web import StaffContext
from memberkit.staff.rules import Action as Action
from memberkit.staff.rules import may


def record(
    staff: StaffContext,
    session: Session,
    *,
    action: str,
    subject_type: str,
    subject_id: str | int,
    before: Any,
    after: Any,
) -> None:
    """Append the audit entry of ``staff``'s change, in the change's own transaction."""
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


def may_do(staff: StaffContext, action: Action) -> bool:
    """Tell whether the signed-in staff member's role may do ``action`` (to show its buttons)."""
    return may(staff.actor.role, action)
