"""Staff pages: sign in, sign out, change one's password, choose one's language.

The face's side of :mod:`memberkit.staff.service`: parse the form, call the service, render.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from memberkit.db import get_database
from memberkit.errors import Forbidden, MemberkitError
from memberkit.faces.templating import render
from memberkit.faces.web import (
    COOKIE,
    HOME,
    STORE_COOKIE,
    StaffContext,
    StaffPage,
    require_action,
    safe_next,
    set_session_cookie,
)
from memberkit.kit.i18n import _, negotiate, translate
from memberkit.program import service as program_service
from memberkit.staff import service
from memberkit.staff.rules import ROLE_NAMES, Action, Role, may_manage
from memberkit.store import service as store_service

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
    if signed.principal.must_change_password:
        target = "/account/password"
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
    response.delete_cookie(STORE_COOKIE, path="/")
    return response


@router.get("/account/password")
def password_page(staff: StaffPage) -> Response:
    """The form to change one's own password (the one page open until an admin's is replaced)."""
    return _password_page(staff)


@router.post("/account/password")
async def change_password(staff: StaffPage) -> Response:
    """Change one's own password (the current one first); other sessions end."""
    form = await staff.form()
    current, new, again = (str(form.get(name, ""))[:200] for name in ("current", "new", "again"))
    if new != again:
        error = translate(_("The new password and its repetition differ."), staff.locale)
        return _password_page(staff, status_code=422, error=error)
    try:
        with staff.work.transaction() as session:
            service.change_password(
                session, principal=staff.principal, current=current, new=new, origin=staff.origin
            )
    except MemberkitError as exc:
        return _password_page(staff, status_code=exc.status, error=exc.detail(staff.locale))
    return _password_page(staff, done=True)


def _password_page(
    staff: StaffContext, *, status_code: int = 200, error: str | None = None, done: bool = False
) -> Response:
    """The password form; for an account whose password an admin chose, saying so."""
    return staff.render(
        "staff/password.html",
        status_code=status_code,
        error=error,
        done=done,
        forced=staff.principal.must_change_password,
        home=HOME[staff.actor.role],
    )


@router.post("/account/locale")
async def choose_locale(staff: StaffPage) -> Response:
    """Switch the console's language for this staff member, remembered on their account."""
    form = await staff.form()
    with staff.work.transaction() as session:
        service.set_locale(
            session, principal=staff.principal, locale=str(form.get("locale", ""))[:10]
        )
    back = safe_next(str(form.get("next", "/admin")))
    return RedirectResponse(back, status_code=303)


@router.post("/account/store")
async def choose_store(staff: StaffPage) -> Response:
    """Choose which of one's stores one works for (the till books to it); for this session.

    A store that is not one's own is refused and changes nothing.
    """
    form = await staff.form()
    token = service.store_token(staff.principal, str(form.get("store", ""))[:32])
    back = safe_next(str(form.get("next", "/admin"))[:2000])
    response = RedirectResponse(back, status_code=303)
    set_session_cookie(response, staff.request, token, name=STORE_COOKIE)
    return response


# --- staff accounts (owners and admins) --------------------------------------------------

ManageStaff = Annotated[StaffContext, Depends(require_action(Action.manage_staff))]
#: Which field of the new-account form a refusal is about, by its code.
FIELD_OF: dict[str, str] = {
    "invalid_username": "username",
    "staff_exists": "username",
    "invalid_display_name": "display_name",
    "invalid_role": "role",
    "cannot_manage_role": "role",
    "password_too_short": "password",
    "password_too_long": "password",
    "password_is_username": "password",
    "stores_required": "stores",
    "stores_not_allowed": "stores",
    "too_many_stores": "stores",
    "store_not_found": "stores",
    "store_inactive": "stores",
    "cannot_disable_self": "role",
    "last_owner": "role",
}
_NEW_FIELDS = ("username", "display_name", "password", "role")


def _choices(staff: StaffContext, session: Session) -> dict[str, Any]:
    """What an account's form offers: the open stores, the roles one may give, role names."""
    _total, stores = store_service.listing(
        session, program_id=staff.program.id, city=None, active=True, offset=0, limit=500
    )
    return {
        "stores": stores,
        "roles": [(role, ROLE_NAMES[role]) for role in Role if may_manage(staff.actor.role, role)],
        "role_names": ROLE_NAMES,
    }


def _staff_page(
    staff: StaffContext,
    *,
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    with staff.work.transaction() as session:
        accounts = service.list_users(session, program_id=staff.program.id, actor=staff.actor)
        choices = _choices(staff, session)
    return staff.render(
        "staff/staff.html",
        status_code=status_code,
        accounts=accounts,
        **choices,
        manageable={a.username for a in accounts if may_manage(staff.actor.role, a.role)},
        entered=entered or {"username": "", "display_name": "", "role": "", "stores": []},
        errors=errors or {},
        error=error,
        done=done,
    )


@router.get("/admin/staff")
def staff_list(staff: ManageStaff, done: bool = False) -> Response:
    """Every staff account, disabled ones too; the form to make one."""
    return _staff_page(staff, done=done)


@router.post("/admin/staff")
async def create_staff(staff: ManageStaff) -> Response:
    """Make an account of a role the staff member may manage; audited by the staff service."""
    form = await staff.form()
    entered: dict[str, Any] = {name: str(form.get(name, ""))[:200] for name in _NEW_FIELDS}
    entered["stores"] = [str(code)[:32] for code in form.getlist("stores")][:200]
    try:
        with staff.work.transaction() as session:
            service.create_user(
                session,
                program_id=staff.program.id,
                username=entered["username"],
                password=entered["password"],
                role=entered["role"],
                display_name=entered["display_name"] or None,
                stores=entered["stores"],
                actor=staff.actor,
                origin=staff.origin,
            )
    except MemberkitError as exc:
        field = FIELD_OF.get(exc.code)
        entered["password"] = ""
        return _staff_page(
            staff,
            entered=entered,
            errors={field: exc.detail(staff.locale)} if field else {},
            error=None if field else exc.detail(staff.locale),
            status_code=exc.status,
        )
    return RedirectResponse("/admin/staff?done=true", status_code=303)


def _account_page(
    staff: StaffContext,
    username: str,
    *,
    entered: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    done: bool = False,
    status_code: int = 200,
) -> Response:
    """One account's page: its role, stores and name; enable or disable it; a new password."""
    with staff.work.transaction() as session:
        account = service.get(session, program_id=staff.program.id, username=username[:64])
        staff.actor.require_manage(account.role)
        choices = _choices(staff, session)
    shown = entered or {
        "display_name": account.display_name,
        "role": str(account.role),
        "stores": list(account.stores),
    }
    return staff.render(
        "staff/account.html",
        status_code=status_code,
        account=account,
        **choices,
        itself=account.id == staff.actor.staff_id,
        entered=shown,
        errors=errors or {},
        error=error,
        done=done,
    )


def _refused(staff: StaffContext, username: str, exc: MemberkitError, **kept: Any) -> Response:
    """The account's page again with a refusal beside its field (or above the form)."""
    field = FIELD_OF.get(exc.code)
    detail = exc.detail(staff.locale)
    return _account_page(
        staff,
        username,
        errors={field: detail} if field else {},
        error=None if field else detail,
        status_code=exc.status,
        **kept,
    )


@router.get("/admin/staff/{username}")
def account_page(username: str, staff: ManageStaff, done: bool = False) -> Response:
    """One account, to change its role, stores or name, enable or disable it, or reset it."""
    return _account_page(staff, username, done=done)


@router.post("/admin/staff/{username}")
async def update_staff(username: str, staff: ManageStaff) -> Response:
    """Change an account's display name, role and stores; audited by the staff service."""
    form = await staff.form()
    entered: dict[str, Any] = {
        "display_name": str(form.get("display_name", ""))[:200],
        "role": str(form.get("role", ""))[:200],
        "stores": [str(code)[:32] for code in form.getlist("stores") if code][:200],
    }
    try:
        with staff.work.transaction() as session:
            service.update_user(
                session,
                program_id=staff.program.id,
                username=username[:64],
                display_name=entered["display_name"],
                role=entered["role"],
                stores=entered["stores"],
                actor=staff.actor,
                origin=staff.origin,
            )
    except MemberkitError as exc:
        if exc.code == "staff_not_found":
            raise
        return _refused(staff, username, exc, entered=entered)
    return RedirectResponse(f"/admin/staff/{username[:64]}?done=true", status_code=303)


@router.post("/admin/staff/{username}/active")
async def enable_or_disable_staff(username: str, staff: ManageStaff) -> Response:
    """Enable (``active=yes``) or disable an account; disabling ends its sessions. Audited."""
    form = await staff.form()
    active = form.get("active") == "yes"
    try:
        with staff.work.transaction() as session:
            service.set_active(
                session,
                program_id=staff.program.id,
                username=username[:64],
                active=active,
                actor=staff.actor,
                origin=staff.origin,
            )
    except MemberkitError as exc:
        if exc.code == "staff_not_found":
            raise
        return _account_page(
            staff, username, error=exc.detail(staff.locale), status_code=exc.status
        )
    return RedirectResponse(f"/admin/staff/{username[:64]}?done=true", 303)


@router.post("/admin/staff/{username}/password")
async def reset_staff_password(username: str, staff: ManageStaff) -> Response:
    """Give an account a new password (the password rules hold); its sessions end. Audited."""
    form = await staff.form()
    try:
        with staff.work.transaction() as session:
            service.reset_password(
                session,
                program_id=staff.program.id,
                username=username[:64],
                password=str(form.get("password", ""))[:200],
                actor=staff.actor,
                origin=staff.origin,
            )
    except MemberkitError as exc:
        if exc.code == "staff_not_found":
            raise
        return _refused(staff, username, exc)
    return RedirectResponse(f"/admin/staff/{username[:64]}?done=true", status_code=303)
