"""The audit log: record each change a person makes, and browse the log (owners and admins).

Faces call :func:`audited` around a change (or :func:`record` once it is made) in the same unit
of work as the change, so an entry exists exactly when the change was committed. Entries are
append-only: nothing here updates or deletes one, and the database refuses updates.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memberkit.audit import queries, repository
from memberkit.audit.models import AuditEntry
from memberkit.audit.rules import (
    ACTION_MAX,
    SUBJECT_ID_MAX,
    SUBJECT_TYPE_MAX,
    Origin,
    masked,
    plain,
)
from memberkit.kit import crypto
from memberkit.kit.pagination import MAX_PAGE_SIZE, Page, page_of
from memberkit.kit.time import utcnow


def _place(program_id: int, uid: str) -> str:
    return f"audit_entries:{program_id}:{uid}"


def record(
    session: Session,
    *,
    program_id: int,
    origin: Origin,
    action: str,
    subject_type: str,
    subject_id: str | int,
    before: Any = None,
    after: Any = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append an entry: ``origin`` did ``action`` to the subject, from ``before`` to ``after``.

    ``before`` and ``after`` are JSON-ready data, dataclasses, times or enums (None where
    there is none). Personal data is masked in what is kept in clear and sealed beside it (see
    :mod:`memberkit.audit.rules`).
    """
    if len(action) > ACTION_MAX or len(subject_type) > SUBJECT_TYPE_MAX:
        raise ValueError(f"audit action or subject type too long: {action!r}, {subject_type!r}")
    origin = origin.fitted()
    clear = {"before": plain(before), "after": plain(after)}
    shown = {side: masked(subject_type, clear[side]) for side in ("before", "after")}
    uid = uuid.uuid4().hex
    sealed = (
        crypto.encrypt(
            json.dumps(clear, ensure_ascii=False, sort_keys=True),
            context=_place(program_id, uid),
        )
        if shown != clear
        else None
    )
    return repository.append(
        session,
        entry=AuditEntry(
            uid=uid,
            program_id=program_id,
            actor_id=origin.actor_id,
            actor_name=origin.actor_name,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id)[:SUBJECT_ID_MAX],
            before=shown["before"],
            after=shown["after"],
            sealed=sealed,
            at=at or utcnow(),
            ip=origin.ip,
            user_agent=origin.user_agent,
        ),
    )


@dataclass
class Audited:
    """A change being audited; ``entry`` is the entry written once it is made (if it changed)."""

    entry: AuditEntry | None = None


@contextmanager
def audited(
    session: Session,
    *,
    program_id: int,
    origin: Origin,
    action: str,
    subject_type: str,
    subject_id: str | int,
    snapshot: Callable[[], Any],
) -> Iterator[Audited]:
    """Audit the change the block makes: ``snapshot()`` before and after, one entry if they differ.

    A change that changed nothing leaves no entry; a block that raises leaves none either.
    """
    before = plain(snapshot())
    audit = Audited()
    yield audit
    after = plain(snapshot())
    if after != before:
        audit.entry = record(
            session,
            program_id=program_id,
            origin=origin,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            before=before,
            after=after,
        )


@dataclass(frozen=True)
class AuditFilter:
    """What entries to show; every filter given must match. ``until`` is exclusive."""

    actor_id: int | None = None
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class EntryView:
    """An entry as a viewer sees it; ``unmasked`` when personal data is shown as it was."""

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    subject_type: str
    subject_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    user_agent: str | None
    unmasked: bool = False
    #: Set when the sealed values cannot be decrypted (altered, or another secret key).
    unreadable: bool = field(default=False)


def _view(entry: AuditEntry, *, personal: bool) -> EntryView:
    before, after, unmasked, unreadable = entry.before, entry.after, False, False
    if personal and entry.sealed is not None:
        try:
            opened = crypto.decrypt(entry.sealed, context=_place(entry.program_id, entry.uid))
        except crypto.CiphertextError:
            unreadable = True
        else:
            clear: Mapping[str, Any] = json.loads(opened or "{}")
            before, after, unmasked = clear.get("before"), clear.get("after"), True
    return EntryView(
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_name=entry.actor_name,
        action=entry.action,
        subject_type=entry.subject_type,
        subject_id=entry.subject_id,
        before=before,
        after=after,
        ip=entry.ip,
        user_agent=entry.user_agent,
        unmasked=unmasked,
        unreadable=unreadable,
    )


def browse(
    session: Session,
    *,
    program_id: int,
    personal: bool,
    filters: AuditFilter | None = None,
    after: int | None = None,
    limit: int = 50,
) -> Page[EntryView]:
    """Return a page of entries, newest first (who may see the log: ``staff.service``).

    ``after`` is the previous page's ``next_after``. Personal data is shown as it was when
    ``personal`` (the viewer's role may see it), masked otherwise.
    """
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    wanted = filters or AuditFilter()
    rows = queries.entries(
        session,
        program_id=program_id,
        limit=limit + 1,
        after=after,
        actor_id=wanted.actor_id,
        action=wanted.action,
        subject_type=wanted.subject_type,
        subject_id=wanted.subject_id,
        since=wanted.since,
        until=wanted.until,
    )
    page = page_of(rows, limit=limit, key=lambda entry: entry.id)
    return Page([_view(entry, personal=personal) for entry in page.items], page.next_after)
