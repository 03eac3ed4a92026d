"""The unit of work and the idempotent runner, for every face: API, console, cashier, CLI, jobs.

A use case is one transaction (:meth:`Work.transaction`). A money-like change runs once per
key (:meth:`Work.once`): the first run's response is stored in the same transaction as its
effects, and every repeat gets that response back. Nothing here knows HTTP; a face turns an
:class:`Outcome` into its own answer (a JSON response, a page, a line of CLI output).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.errors import Conflict, IdempotencyConflict, MemberkitError
from memberkit.idempotency import service as idempotency
from memberkit.kit.i18n import _
from memberkit.program.service import ProgramConfig


class ConcurrentChange(Conflict):
    """A concurrent request changed the same thing; retrying is safe."""

    code = "concurrent_change"
    message = _("Another request changed the same data at the same time; please retry.")


@dataclass(frozen=True)
class Outcome:
    """The response of a run-once change: the first run's (``created``) or a replay of it."""

    body: dict[str, Any]
    created: bool


@dataclass
class Work:
    """Units of work for one actor of one program: who acts (a store, or the whole chain)."""

    database: Database
    program: ProgramConfig
    #: The store the actor is bound to (an API key or staff member of one store), if any.
    store_code: str | None = None
    #: Reads only: the unit of work neither waits for nor blocks writers.
    read_only: bool = False

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed when the block ends (read-only for a reader)."""
        with self.database.session_scope(read_only=self.read_only) as session:
            yield session

    def _fingerprinted(self, request: dict[str, Any], subject: str | None) -> dict[str, Any]:
        """What a request's fingerprint is made of: it, what it names, the actor's store."""
        fingerprinted = request
        if subject is not None:
            fingerprinted = {"subject": subject, "body": fingerprinted}
        if self.store_code is not None:
            # Unbound actors keep the plain fingerprint, so their records stay valid.
            fingerprinted = {"store": self.store_code, "request": fingerprinted}
        return fingerprinted

    def once(
        self,
        *,
        key: str,
        request: dict[str, Any],
        action: Callable[[Session], dict[str, Any]],
        subject: str | None = None,
        as_sent: dict[str, Any] | None = None,
    ) -> Outcome:
        """Run ``action`` once per key and return its result; a repeat returns the first result.

        ``as_sent``, when given, is the request as it was fingerprinted before its instants
        were read in UTC: a record made then still answers its repeat.

        ``request`` is the change asked for (JSON-ready); with ``subject`` (what a path names,
        such as a member number) and the actor's store binding it makes the request's
        fingerprint: the same key sent for another member, or by another store (or an unbound
        actor) for a store-bound actor's request, is a conflict, never a replay of the first
        store's result. The stored response is written in the action's own transaction, so a
        response is remembered exactly when its effects are committed.

        A concurrent duplicate may be refused while the first is committing: on a unique
        constraint, or by the action itself once it sees the winner's effects (an order that
        exists, points the winner spent). Every refusal therefore looks for the winner's record
        first and answers a duplicate from it, so identical requests sent at once get one
        created result and then replays.
        """
        fingerprinted = self._fingerprinted(request, subject)
        request_hash = idempotency.fingerprint(fingerprinted)
        earlier: tuple[str, ...] = ()
        if as_sent is not None and as_sent != request:
            earlier = (idempotency.fingerprint(self._fingerprinted(as_sent, subject)),)

        def replayed(session: Session) -> Outcome | None:
            stored = idempotency.replay(
                session,
                program_id=self.program.id,
                key=key,
                request_hash=request_hash,
                payload=fingerprinted,
                also=earlier,
            )
            return None if stored is None else Outcome(stored[1], created=False)

        for attempt in range(2):
            try:
                with self.database.session_scope() as session:
                    replay = replayed(session)
                    if replay is not None:
                        return replay
                    body = action(session)
                    idempotency.remember(
                        session,
                        program_id=self.program.id,
                        key=key,
                        request_hash=request_hash,
                        status_code=201,
                        response=body,
                    )
                return Outcome(body, created=True)
            except IdempotencyConflict:
                raise
            except (IntegrityError, MemberkitError) as refusal:
                with self.database.session_scope(read_only=True) as session:
                    replay = replayed(session)
                if replay is not None:
                    return replay
                if isinstance(refusal, MemberkitError):
                    raise
                if attempt:
                    raise ConcurrentChange() from None
        raise AssertionError("unreachable")
