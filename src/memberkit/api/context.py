"""What every API request carries: the database, the caller, the language, the program."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from memberkit.auth import service as auth_service
from memberkit.auth.models import Scope
from memberkit.auth.service import Principal
from memberkit.db import Database, get_database
from memberkit.errors import InvalidInput
from memberkit.kit.i18n import _
from memberkit.kit.schemas import in_utc
from memberkit.kit.time import show_in
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.uow import Work


class MissingIdempotencyKey(InvalidInput):
    """Money-like changes must carry a key."""

    status = 400
    code = "idempotency_key_required"
    message = _("This request needs an Idempotency-Key header.")


@dataclass
class ApiContext:
    """The request's caller and program, and its units of work (:class:`memberkit.uow.Work`)."""

    database: Database
    principal: Principal
    program: ProgramConfig
    #: A GET reads only: its unit of work neither waits for nor blocks writers.
    read_only: bool = False

    @property
    def work(self) -> Work:
        """The units of work of this caller: what the console and cashier screen use too."""
        return Work(
            self.database,
            self.program,
            store_code=self.principal.store_code,
            read_only=self.read_only,
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work, committed before the response is sent (read-only for a GET)."""
        with self.work.transaction() as session:
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
        """Run ``action`` once per key (:meth:`Work.once`): 201 with its result, 200 on a repeat.

        ``present`` shapes the stored result for the response (e.g. unmasking for this caller).
        """
        as_sent = payload.model_dump(mode="json")
        outcome = self.work.once(
            key=key,
            request=in_utc(payload, as_sent),
            as_sent=as_sent,
            action=lambda session: action(session).model_dump(mode="json"),
            subject=subject,
        )
        body = present(outcome.body) if present else outcome.body
        return JSONResponse(body, status_code=201 if outcome.created else 200)


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
        return program_service.by_id(session, program_id)


def require(scope: str) -> Callable[..., Any]:
    """Return a dependency that authenticates and checks the key grants ``scope``."""

    async def dependency(context: Annotated[ApiContext, Depends(_context)]) -> ApiContext:
        context.principal.require(scope)
        # Async, so it runs in the request's own context: the endpoint and the rendering of
        # its answer show times in the program's timezone.
        show_in(context.program.tz)
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
