"""Staff pages: sign in, sign out, change one's password, choose one's language.

The face's side of :mod:`memberkit.staff.service`: parse the form, call the service, render.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from memberkit.db import get_database
from memberkit.errors import Forbidden, MemberkitError
from memberkit.faces.templating import render
from memberkit.faces.web import (
    COOKIE,
    HOME,
    StaffPage,
    safe_next,
    set_session_cookie,
)
from memberkit.kit.i18n import _, negotiate, translate
from memberkit.program import service as program_service
from memberkit.staff import service

router = APIRouter(include_in_schema=False)


class CrossSiteForm(Forbidden):
    """A form posted from another site's page."""

    code = "cross_site_form"
    message = _("This form was sent from another site's page; open the sign-in page here.")


def same_origin(request: Request) -> bool:
    """Whether a form comes from our own pages, by its Origin (or Referer) header.

    Browsers send one of them with every form; a request with neither (curl, a test client)
    is no browser's cross-site form.
    """
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent or sent == "null":
        return sent is None
    # The host only: behind a proxy that ends TLS the page is https, the request http.
    return urlsplit(sent).netloc == request.url.netloc


#: Form fields are bounded like API fields: nothing longer reaches the services.
Short = Annotated[str, Form(max_length=200)]


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    """The sign-in form (in the browser's language: nobody is known yet)."""
    return render(request, "staff/login.html", next=safe_next(next), error=None, username="")


@router.post("/login")
def login(
    request: Request,
    username: Short = "",
    password: Short = "",
    next: Annotated[str, Form(max_length=2000)] = "/admin",
) -> Response:
    """Sign in; on success the session cookie is set and the page asked for is shown.

    A sign-in posted from another site's page is refused (login CSRF: it would sign the
    visitor's browser in to the other site's account).
    """
    database = get_database()
    locale = negotiate(request.headers.get("accept-language"))
    if not same_origin(request):
        raise CrossSiteForm()
    with database.session_scope(read_only=True) as session:
        program_id = program_service.get(session).id
    client = request.client
    try:
        signed = service.authenticate(
            database,
            program_id=program_id,
            username=username,
            password=password,
            ip=client.host if client else "",
            user_agent=request.headers.get("user-agent"),
        )
    except MemberkitError as exc:
        return render(
            request,
            "staff/login.html",
            status_code=exc.status,
            next=safe_next(next),
            error=exc.detail(locale),
            username=username,
        )
    target = safe_next(next)
    if target == "/admin":
        target = HOME[signed.principal.actor.role]
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, signed.token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Sign out: the session ends on the server, the cookie is dropped."""
    form = await request.form()
    database = get_database()
    principal = service.resolve(database, token=request.cookies.get(COOKIE))
    if principal is not None:
        token = form.get("csrf_token")
        service.require_csrf(principal, token if isinstance(token, str) else None)
        with database.session_scope() as session:
            service.sign_out(session, token=request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/account/password")
def password_page(staff: StaffPage) -> Response:
    """The form to change one's own password."""
    return staff.render("staff/password.html", error=None, done=False)


@router.post("/account/password")
async def change_password(staff: StaffPage) -> Response:
    """Change one's own password (the current one first); other sessions end."""
    form = await staff.request.form()
    staff.check_form(form)
    current, new, again = (str(form.get(name, ""))[:200] for name in ("current", "new", "again"))
    if new != again:
        error = translate(_("The new password and its repetition differ."), staff.locale)
        return staff.render("staff/password.html", status_code=422, error=error, done=False)
    try:
        with staff.work.transaction() as session:
            service.change_password(
                session, principal=staff.principal, current=current, new=new, origin=staff.origin
            )
    except MemberkitError as exc:
        return staff.render(
            "staff/password.html",
            status_code=exc.status,
            error=exc.detail(staff.locale),
            done=False,
        )
    return staff.render("staff/password.html", error=None, done=True)


@router.post("/account/locale")
async def choose_locale(staff: StaffPage) -> Response:
    """Switch the console's language for this staff member, remembered on their account."""
    form = await staff.request.form()
    staff.check_form(form)
    with staff.work.transaction() as session:
        service.set_locale(
            session, principal=staff.principal, locale=str(form.get("locale", ""))[:10]
        )
    back = safe_next(str(form.get("next", "/admin")))
    return RedirectResponse(back, status_code=303)
