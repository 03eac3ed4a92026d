"""Reads of the audit log: entries matching filters, newest first, a page at a time (keyset)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from memberkit.audit.models import AuditEntry


def entries(
    session: Session,
    *,
    program_id: int,
    limit: int,
    after: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEntry]:
    """Return up to ``limit`` entries matching every filter given, newest first.

    ``after`` is the id of the last entry of the previous page: the page holds older ones.
    ``since`` is inclusive, ``until`` exclusive.
    """
    query = select(AuditEntry).where(AuditEntry.program_id == program_id)
    if after is not None:
        query = query.where(AuditEntry.id < after)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if subject_type is not None:
        query = query.where(AuditEntry.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(AuditEntry.subject_id == subject_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
