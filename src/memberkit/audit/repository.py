"""The one write of the audit log: an entry is appended, never updated or deleted."""

from __future__ import annotations

from sqlalchemy.orm import Session

from memberkit.audit.models import AuditEntry


def append(session: Session, *, entry: AuditEntry) -> AuditEntry:
    """Insert an entry (its id is set on return)."""
    session.add(entry)
    session.flush()
    return entry
