"""What every API request carries: the database, the caller, the language, the program."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.auth import service as auth_service
from memberkit.auth.models import Scope
from memberkit.auth.service import Principal
from memberkit.db import Database, get_database
from memberkit.errors import Conflict, IdempotencyConflict, InvalidInput, MemberkitError
from memberkit.idempotency import service as idempotency
from memberkit.kit.i18n import _
from memberkit.program import service as program_service
from memberkit.program.models import Program
from memberkit.program.service import ProgramConfig


class ConcurrentChange(Conflict):
    """A concurrent request changed the same thing; retrying is safe."""

    code = "concurrent_change"
    message = _("Another request changed the same data at the same time; please retry.")


class MissingIdempotencyKey(InvalidInput):
    """Money-like changes must carry a key."""

    status = 400
    code = "idempotency_key_required"
    message = _("This request needs an Idempotency-Key header.")


@dataclass
class ApiContext:
    """The request's unit-of-work factory, caller and program."""

    database: Database
    principal: Principal
    program: ProgramConfig
    #: A GET reads only: its unit of work neither waits for nor blocks writers.
    read_only: bool = False

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed before the response is sent (read-only for a GET)."""
        with self.database.session_scope(read_only=self.read_only) as session:
            yield session

    def idempotent(
        self,
        *,
        key: str,
        payload: BaseModel,
        action: Callable[[Session], BaseModel],
        subject: str | None = None,
        present: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> JSONResponse:
        """Run ``action`` once per key: 201 with its result, or 200 with the first result.

        ``subject`` names what the request acts on when the path says it (a member number):
        it is part of the request's fingerprint, so the same key sent for another member is a
        conflict, not a replay. So is the caller's store binding: a key of another store (or an
        unbound key) sending a store-bound key's request gets a conflict, never the first
        store's result. The stored response is written in the action's own
        transaction, so a response is remembered exactly when its effects are committed.

        A concurrent duplicate may be refused while the first is committing: on a unique
        constraint, or by the action itself once it sees the winner's effects (an order that
        exists, points the winner spent). Every refusal therefore looks for the winner's record
        first and answers a duplicate from it, so identical requests sent at once get one 201
        and then 200s.
        """
        fingerprinted = payload.model_dump(mode="json")
        if subject is not None:
            fingerprinted = {"subject": subject, "body": fingerprinted}
        if self.principal.store_code is not None:
            # Unbound keys keep the plain fingerprint, so their records stay valid.
            fingerprinted = {"store": self.principal.store_code, "request": fingerprinted}
        request_hash = idempotency.fingerprint(fingerprinted)

        def replayed(session: Session) -> JSONResponse | None:
            stored = idempotency.replay(
                session,
                program_id=self.program.id,
                key=key,
                request_hash=request_hash,
                payload=fingerprinted,
            )
            if stored is None:
                return None
            return JSONResponse(present(stored[1]) if present else stored[1], status_code=200)

        for attempt in range(2):
            try:
                with self.database.session_scope() as session:
                    replay = replayed(session)
                    if replay is not None:
                        return replay
                    body = action(session).model_dump(mode="json")
                    idempotency.remember(
                        session,
                        program_id=self.program.id,
                        key=key,
                        request_hash=request_hash,
                        status_code=201,
                        response=body,
                    )
                return JSONResponse(present(body) if present else body, status_code=201)
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


def _context(request: Request, authorization: Annotated[str | None, Header()] = None) -> ApiContext:
    database = get_database()
    principal = auth_service.cached(authorization, database.engine)
    program = program_service.cached(database.engine)
    if principal is None or program is None:
        with database.session_scope(read_only=True) as session:
            principal = auth_service.authenticate(session, authorization)
            program = program_service.get(session)
    if program.id != principal.program_id:
        program = _program_by_id(database, principal.program_id)
    request.state.principal = principal
    return ApiContext(database, principal, program, read_only=request.method in _READS)


_READS = frozenset({"GET", "HEAD"})


def _program_by_id(database: Database, program_id: int) -> ProgramConfig:
    with database.session_scope(read_only=True) as session:
        code = session.get_one(Program, program_id).code
        return program_service.cached(database.engine, code) or program_service.get(session, code)


def require(scope: str) -> Callable[..., Any]:
    """Return a dependency that authenticates and checks the key grants ``scope``."""

    async def dependency(context: Annotated[ApiContext, Depends(_context)]) -> ApiContext:
        context.principal.require(scope)
        return context

    return dependency


async def _chain_admin(context: Annotated[ApiContext, Depends(require(Scope.admin))]) -> ApiContext:
    context.principal.require_unbound()
    return context


ReadContext = Annotated[ApiContext, Depends(require(Scope.read))]
PosContext = Annotated[ApiContext, Depends(require(Scope.pos))]
AdminContext = Annotated[ApiContext, Depends(require(Scope.admin))]
#: An admin key not bound to a store: managing keys and the whole program's rules.
ChainAdminContext = Annotated[ApiContext, Depends(_chain_admin)]
#: A card number in a path: digits only, so it can never be confused with a key separator.
MemberNo = Annotated[str, Path(pattern=r"^[0-9]{1,20}$", examples=["800000000018"])]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="Repeating a request with the same key returns the first response.",
    ),
]
