"""What every staff page carries: who is signed in, their program, language and work.

The signed-in staff member, their program and language, the unit of work they act in, and
the form checks (CSRF): the console's and cashier screen's counterpart of
:mod:`memberkit.api.context`.

A page declares ``staff: StaffPage`` (or ``Depends(require_action(Action.…))``); a visitor
without a live session is sent to the sign-in page and back afterwards. Every form carries
``csrf_token`` (the layout puts it in); a view reads it with :meth:`StaffContext.form`, which
checks the token before any change. Pages never hold business rules: they call the same
services the API calls, in ``staff.work`` (:class:`memberkit.uow.Work`), bound to the staff
member's store.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, cast
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from memberkit.audit.rules import Origin
from memberkit.db import Database, get_database
from memberkit.errors import MemberkitError
from memberkit.faces.nav import menu
from memberkit.faces.templating import render
from memberkit.kit.i18n import negotiate
from memberkit.kit.time import show_in
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Action, Role, may
from memberkit.staff.service import Principal
from memberkit.uow import Work

#: The session cookie: an opaque random token; the server keeps only its hash.
COOKIE = "memberkit_session"
#: The store a staff member of several stores works for, bound to their session.
STORE_COOKIE = "memberkit_store"
#: Where each role lands after signing in (a face that is not built yet is not named here).
HOME: Mapping[Role, str] = {role: "/admin" for role in Role} | {Role.cashier: "/pos"}


class SignInFirst(Exception):
    """A staff page was asked for without a live session: go to the sign-in page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


class ChangePasswordFirst(Exception):
    """An account whose password an admin chose asked for another page: choose one first."""


#: The pages an account that must change its password may still use.
PASSWORD_FIRST_PATHS = frozenset({"/account/password", "/account/locale"})
PASSWORD_PAGE = "/account/password"


def sign_in_url(path: str) -> str:
    """The sign-in page, coming back to ``path`` (a local path only) afterwards."""
    return f"/login?next={quote(safe_next(path))}"


def safe_next(path: str | None) -> str:
    """Return ``path`` if it is a local page of ours, else the console's home.

    A ``next`` naming another host (``//evil.example``, ``https://…``) would make the sign-in
    page an open redirect.
    """
    if not path:
        return "/admin"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return "/admin"
    return path


@dataclass
class StaffContext:
    """A signed-in staff member's request: who, their program, their units of work."""

    request: Request
    database: Database
    principal: Principal
    program: ProgramConfig

    @property
    def actor(self) -> Any:
        """The staff member as the rules see them (:class:`memberkit.staff.rules.Actor`)."""
        return self.principal.actor

    @property
    def locale(self) -> str:
        """The staff member's language (their own choice, remembered per account)."""
        return self.principal.locale

    @property
    def store_code(self) -> str | None:
        """The store a store-bound role works for (the one chosen, else the first of theirs).

        None for chain-wide roles.
        """
        return staff_service.working_store(self.principal, self.request.cookies.get(STORE_COOKIE))

    @property
    def store_choices(self) -> list[str]:
        """The stores one may choose to work for: shown as a picker when there are several."""
        scope = self.actor.store_scope
        return sorted(scope) if scope and len(scope) > 1 else []

    @property
    def work(self) -> Work:
        """The units of work of this staff member: exactly what the API uses."""
        read_only = self.request.method in ("GET", "HEAD")
        return Work(self.database, self.program, store_code=self.store_code, read_only=read_only)

    @property
    def origin(self) -> Origin:
        """Where the request came from, for the audit log."""
        client = self.request.client
        return self.actor.origin(
            ip=client.host if client else None,
            user_agent=self.request.headers.get("user-agent"),
        )

    async def form(self) -> FormData:
        """Return the posted form once its CSRF token is checked (403 ``csrf_mismatch``)."""
        form = await self.request.form()
        self.check_form(form)
        return form

    def check_form(self, form: Mapping[str, Any]) -> None:
        """Refuse a form without this session's CSRF token (403 ``csrf_mismatch``)."""
        token = form.get("csrf_token")
        staff_service.require_csrf(self.principal, token if isinstance(token, str) else None)

    def render(self, name: str, /, *, status_code: int = 200, **context: Any) -> Response:
        """Render a page in the staff member's language, with what the layout needs."""
        return render(
            self.request,
            name,
            locale=self.locale,
            status_code=status_code,
            staff=self,
            # Until a password an admin chose is replaced, no other page opens: no menu either.
            nav=[] if self.principal.must_change_password else menu(self.actor),
            here=self.request.url.path,
            csrf_token=self.principal.csrf_token,
            **context,
        )


def _staff(request: Request) -> StaffContext:
    database = get_database()
    principal = staff_service.resolve(database, token=request.cookies.get(COOKIE))
    if principal is None:
        raise SignInFirst(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    if principal.must_change_password and request.url.path not in PASSWORD_FIRST_PATHS:
        raise ChangePasswordFirst()
    program = _program(database, principal.program_id)
    return StaffContext(request, database, principal, program)


def _program(database: Database, program_id: int) -> ProgramConfig:
    cached = program_service.cached(database.engine)
    if cached is not None and cached.id == program_id:
        return cached
    with database.session_scope(read_only=True) as session:
        return program_service.by_id(session, program_id)


async def require_staff(staff: Annotated[StaffContext, Depends(_staff)]) -> StaffContext:
    """The signed-in staff member; times on their pages are shown in their program's zone."""
    # Async, so it runs in the request's own context (see memberkit.api.context.require).
    show_in(staff.program.tz)
    return staff


def require_action(action: Action) -> Callable[..., Any]:
    """Return a dependency for pages only some roles may see (403 ``staff_not_permitted``)."""

    async def dependency(staff: Annotated[StaffContext, Depends(require_staff)]) -> StaffContext:
        # The role may do it at all; what a store-bound role sees is scoped by the page.
        if not may(staff.actor.role, action):
            staff.actor.require(action)  # raises, saying which role may not do what
        return staff

    return dependency


StaffPage = Annotated[StaffContext, Depends(require_staff)]


def set_session_cookie(
    response: Response, request: Request, token: str, *, name: str = COOKIE
) -> None:
    """Put a new session's token in its cookie: HttpOnly, SameSite=Lax, Secure over TLS.

    With ``name`` :data:`STORE_COOKIE`, the store chosen for the session
    (:func:`memberkit.staff.service.store_token`), alike.
    """
    response.set_cookie(
        name,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def install(app: FastAPI) -> None:
    """Send visitors of staff pages without a live session to the sign-in page.

    A refusal on a page is shown as a page (the API keeps its problem+json).

    Call after :func:`memberkit.api.problems.install`, whose handler it wraps.
    """
    api_handler = app.exception_handlers[MemberkitError]

    @app.exception_handler(MemberkitError)
    async def _refused(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith("/api/") or not isinstance(exc, MemberkitError):
            answer = api_handler(request, exc)
            return cast(Response, await answer if inspect.isawaitable(answer) else answer)
        locale = negotiate(request.headers.get("accept-language"))
        principal = staff_service.resolve(get_database(), token=request.cookies.get(COOKIE))
        if principal is not None:
            locale = principal.locale
        return render(
            request,
            "faces/refused.html",
            locale=locale,
            status_code=exc.status,
            detail=exc.detail(locale),
            code=exc.code,
        )

    @app.exception_handler(ChangePasswordFirst)
    async def _password_first(request: Request, exc: ChangePasswordFirst) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": PASSWORD_PAGE})
        return RedirectResponse(PASSWORD_PAGE, status_code=303)

    @app.exception_handler(SignInFirst)
    async def _sign_in(request: Request, exc: SignInFirst) -> Response:
        if request.headers.get("hx-request"):
            # An htmx fragment cannot be redirected in place: the whole page goes.
            return Response(status_code=204, headers={"HX-Redirect": sign_in_url(exc.path)})
        return RedirectResponse(sign_in_url(exc.path), status_code=303)
