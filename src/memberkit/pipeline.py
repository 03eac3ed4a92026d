"""The member-event pipeline: the one way a money-like change reaches a member.

Every member event — an order, a refund, a recharge, a behaviour event, a hand adjustment, a
tier grant, and the daily jobs' points expiry, growth decay, tier review and grace notice —
runs the same steps in the caller's unit of work:

1. resolve the member and lock their row (:func:`memberkit.member.service.lock_for_posting`),
   so every change of one member's balances is serialized;
2. check their status (active to earn and spend, open to be corrected);
3. expire their points lots past expiry at the processing moment, so no outcome depends on
   when the expiry job last ran;
4. the event's own work (``post``): the domain's records and ledger postings;
5. the reactions the domains register for that kind of event (:mod:`memberkit.reactions`:
   the tier upgrade and the referrer's re-judging after an earning event, the moving back
   after a refund; later coupons on upgrade, achievements), in the same transaction;
6. the event's ``finish``, which completes its outcome from what the reactions did (the
   balances and tier to answer with) and tells its own domain event;
7. the domain events told on the way (points expired, tier changed, order posted …) are
   appended to the outbox, in one INSERT (:func:`memberkit.events.collected`).

A refusal anywhere raises before the unit of work commits, so nothing of it is kept, and no
event of it is written. A new kind of earn or burn is a new :class:`EventKind`, a ``post``
function in its domain, and the reactions it should trigger in :mod:`memberkit.reactions`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar, overload

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from memberkit import events
from memberkit.db import Database
from memberkit.kit import keys
from memberkit.kit.time import Timing, showing_in
from memberkit.ledger.repository import member_balances
from memberkit.ledger.service import expire_due
from memberkit.member import service as member_service
from memberkit.member.service import MemberKey, MemberRef
from memberkit.program.service import ProgramConfig

if TYPE_CHECKING:
    from memberkit.member.service import TierOutcome

log = logging.getLogger("memberkit.pipeline")


class EventKind(StrEnum):
    """What happened to the member; reactions are registered per kind."""

    order = "order"
    refund = "refund"
    recharge = "recharge"
    wallet_refund = "wallet_refund"
    benefit_use = "benefit_use"
    benefit_undo = "benefit_undo"
    redemption = "redemption"
    redemption_cancel = "redemption_cancel"
    redemption_fulfil = "redemption_fulfil"
    behaviour = "behaviour"
    adjustment = "adjustment"
    grant = "grant"
    #: The daily jobs, one member at a time.
    expiry = "expiry"
    decay = "decay"
    review = "review"
    notice = "notice"


class Requires(StrEnum):
    """The member status an event needs."""

    #: Earning and spending: a frozen or closed member is refused.
    active = "active"
    #: Corrections (adjustments, grants): a frozen member may be corrected, a closed one not.
    open = "open"
    #: Refunds reverse what an order did, whatever became of the membership since; the jobs
    #: (expiry, decay, review) look at the status themselves.
    any = "any"


@dataclass
class Applied:
    """One member event as it is applied: read and completed by its ``post`` and reactions."""

    kind: EventKind
    #: The event's key (:mod:`memberkit.kit.keys`); its postings and tier moves derive theirs.
    key: str
    program: ProgramConfig
    member: MemberKey
    #: When it happened (the ``post`` may set it when it depends on what it reads).
    at: datetime
    #: When it is processed.
    now: datetime
    order_id: int | None = None
    #: The member's balances after the event, as far as its postings returned them.
    balances: dict[str, int] = field(default_factory=dict)
    #: The member's tier after the event (set by the tier reactions).
    tier: TierOutcome | None = None
    #: The points that had expired by :attr:`now` and were expired before the event (step 3).
    expired: int = 0
    #: Whether :attr:`balances` holds every balance (read after the event's postings).
    _all_read: bool = field(default=False, repr=False)

    def balance(self, session: Session, asset: str) -> int:
        """Return the member's balance of ``asset`` after the event, reading them once if unknown.

        After one read every balance is known: an asset the member holds no account of is 0.
        """
        if asset not in self.balances and not self._all_read:
            self.balances = {**member_balances(session, member_id=self.member.id), **self.balances}
            self._all_read = True
        return self.balances.get(asset, 0)


T = TypeVar("T")
R = TypeVar("R")
Reaction = Callable[[Session, Applied], None]


@overload
def apply(
    session: Session,
    *,
    program: ProgramConfig,
    kind: EventKind,
    key: str,
    member: MemberRef | int,
    timing: Timing,
    at: datetime,
    post: Callable[[Session, Applied], T],
    requires: Requires = ...,
    finish: None = None,
) -> tuple[Applied, T]: ...


@overload
def apply(
    session: Session,
    *,
    program: ProgramConfig,
    kind: EventKind,
    key: str,
    member: MemberRef | int,
    timing: Timing,
    at: datetime,
    post: Callable[[Session, Applied], T],
    requires: Requires = ...,
    finish: Callable[[Session, Applied, T], R],
) -> tuple[Applied, R]: ...


def apply(
    session: Session,
    *,
    program: ProgramConfig,
    kind: EventKind,
    key: str,
    member: MemberRef | int,
    timing: Timing,
    at: datetime,
    post: Callable[[Session, Applied], Any],
    requires: Requires = Requires.active,
    finish: Callable[[Session, Applied, Any], Any] | None = None,
) -> tuple[Applied, Any]:
    """Apply one member event: lock, check, expire what is due, ``post``, react, ``finish``.

    Returns the event as applied and what ``post`` returned, or what ``finish`` made of it.

    ``member`` names the member (card number, phone or QR token) or is their id (an event of
    something they already have, such as a refund of their order). The caller checks the
    event's time against the program's bounds first and holds the unit of work.
    """
    with events.collected(session), showing_in(program.tz):
        return _apply(
            session,
            program=program,
            kind=kind,
            key=key,
            member=member,
            timing=timing,
            at=at,
            post=post,
            requires=requires,
            finish=finish,
        )


def _apply(
    session: Session,
    *,
    program: ProgramConfig,
    kind: EventKind,
    key: str,
    member: MemberRef | int,
    timing: Timing,
    at: datetime,
    post: Callable[[Session, Applied], Any],
    requires: Requires,
    finish: Callable[[Session, Applied, Any], Any] | None,
) -> tuple[Applied, Any]:
    ref = member if isinstance(member, MemberRef) else MemberRef()
    locked = member_service.lock_for_posting(
        session,
        program_id=program.id,
        member_no=ref.member_no,
        phone=ref.phone,
        qr_token=ref.qr_token,
        member_id=member if isinstance(member, int) else None,
        as_of=timing.now,
    )
    if requires is Requires.active:
        member_service.require_active(locked)
    elif requires is Requires.open:
        member_service.require_open(locked)
    applied = Applied(kind, key, program, locked, at=at, now=timing.now)
    if locked.points_due:
        applied.expired = expire_due(
            session, program_id=program.id, member_id=locked.id, as_of=timing.now
        )
    result = post(session, applied)
    for reaction in _reactions(kind):
        reaction(session, applied)
    _after_commit(session, program, locked.id)
    if finish is not None:
        result = finish(session, applied, result)
    return applied, result


def for_each_member(
    database: Database,
    *,
    program: ProgramConfig,
    kind: EventKind,
    member_ids: Sequence[int],
    as_of: datetime,
    post: Callable[[Session, Applied], T],
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> list[T]:
    """Apply a daily job's event (as of ``as_of``) to each member, one transaction each.

    A crash loses no member's work done before it; a rerun redoes nothing, as each ``post``
    keys its own postings. The members are taken whatever their status (``post`` decides).
    ``progress(done, total)`` is called after each member. A ``dry_run`` does the same work
    and rolls every transaction back. Returns what ``post`` returned, member by member.
    """
    results: list[T] = []
    for done, member_id in enumerate(member_ids, start=1):
        with database.session_scope(rollback=dry_run) as session:
            _applied, result = apply(
                session,
                program=program,
                kind=kind,
                key=keys.job(kind, member_id, as_of),
                member=member_id,
                timing=Timing(as_of),
                at=as_of,
                post=post,
                requires=Requires.any,
            )
        results.append(result)
        if progress is not None:
            progress(done, len(member_ids))
    return results


#: Where a session keeps the members whose events it applied, for the after-commit callbacks.
_TOUCHED = "memberkit.pipeline.touched"


def _after_commit(session: Session, program: ProgramConfig, member_id: int) -> None:
    """Remember the member; once the unit of work commits, run :data:`AFTER_COMMIT` callbacks."""
    touched = session.info.get(_TOUCHED)
    if touched is None:
        touched = session.info[_TOUCHED] = {}
        event.listen(session, "after_commit", _committed, once=True)
        event.listen(session, "after_rollback", _rolled_back, once=True)
    touched.setdefault(program.id, (program, set()))[1].add(member_id)


def _rolled_back(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


def _committed(session: Session) -> None:
    """Hand the members the unit of work touched to :data:`BACKGROUND`; never raises."""
    touched = session.info.pop(_TOUCHED, None) or {}
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    for program, member_ids in touched.values():
        BACKGROUND.add(engine, program, frozenset(member_ids))


class AfterCommit:
    """One background thread that runs :data:`~memberkit.reactions.AFTER_COMMIT` callbacks.

    The request whose events committed only hands over member ids (a set update under a
    lock): the cashier never waits for what follows an order (RFM rows, segment membership).
    The thread gathers members for ``delay`` seconds before it runs the callbacks for them, in
    their order, so a busy till's orders cost one run per program each ``delay``, not one
    each (on two cores, a run after every order slowed the next order nearly as much as
    running it inline). Each process keeps its own thread; what it had not run when it
    stopped, the daily jobs put right. A failing callback is logged and never stops the rest.
    """

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self._hurry = False
        self._lock = threading.Condition()
        self._pending: dict[tuple[int, int], tuple[Engine, ProgramConfig, set[int]]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None

    def add(self, engine: Engine, program: ProgramConfig, member_ids: frozenset[int]) -> None:
        """Queue these members of the program; starts the thread if needed."""
        with self._lock:
            key = (id(engine), program.id)
            _engine, _program, queued = self._pending.get(key, (engine, program, set()))
            # The newest configuration of the program wins: a setting may have changed since.
            self._pending[key] = (engine, program, queued | member_ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="after-commit", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def settle(self, timeout: float = 30.0) -> bool:
        """Run what is queued now and wait for it; False if ``timeout`` seconds passed first."""
        with self._lock:
            self._hurry = True
            self._lock.notify_all()
            settled = self._lock.wait_for(lambda: not self._pending and not self._busy, timeout)
            if settled:
                self._hurry = False
            return settled

    def _run(self) -> None:
        from memberkit.reactions import AFTER_COMMIT

        while True:
            with self._lock:
                self._lock.wait_for(lambda: bool(self._pending))
                self._lock.wait_for(lambda: self._hurry, self.delay)
                work, self._pending, self._busy = self._pending, {}, True
                self._hurry = False
            try:
                for engine, program, member_ids in work.values():
                    for callback in AFTER_COMMIT:
                        try:
                            callback(engine, program, frozenset(member_ids))
                        except Exception:
                            log.exception("after-commit %s failed for %s", callback, program.code)
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()


#: The process's after-commit runner, fed by every unit of work that applied member events.
BACKGROUND = AfterCommit()


def _reactions(kind: EventKind) -> tuple[Reaction, ...]:
    # The registry imports the domains that react, which import this module: read it late.
    from memberkit.reactions import REACTIONS

    return REACTIONS.get(kind, ())
