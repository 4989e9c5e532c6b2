"""Sign-in, sign-out (here and everywhere), the one-time password link, language, home."""

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.accounts import service
from app.accounts.sessions import close_session
from app.console.i18n import LANGUAGES
from app.console.web import (
    LANG_COOKIE,
    SESSION_COOKIE,
    SIGNIN_CSRF_COOKIE,
    ConsoleRoute,
    DbSession,
    FormUser,
    User,
    is_platform_admin,
    redirect,
    render,
    settings_of,
)
from app.errors import AppError, Forbidden
from app.settings import Settings

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an absolute URL here would make the sign-in an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


def _set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def _signin_page(
    request: Request, next_url: str, *, status: int = 200, error: str = ""
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "signin.html", status=status, next=next_url, signin_csrf=token, error=error
    )
    settings = settings_of(request)
    response.set_cookie(
        SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=settings.cookie_secure
    )
    return response


@router.get("/signin")
def signin_form(request: Request, next: str = "/") -> Response:
    """The sign-in page."""
    return _signin_page(request, _safe_next(next))


@router.post("/signin")
def signin(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    """Check the password and start a session."""
    settings = settings_of(request)
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        raise Forbidden("the sign-in form has expired; reload the page and try again")
    ip = request.client.host if request.client else None
    try:
        _user, token = service.sign_in(session, email, password, settings, ip=ip)
    except AppError as exc:
        session.commit()  # the failed attempt counts towards the throttle
        key = "signin.throttled" if exc.status == 429 else "signin.failed"
        return _signin_page(request, _safe_next(next), status=exc.status, error=key)
    session.commit()
    response = redirect(_safe_next(next))
    _set_session_cookie(response, settings, token)
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response


@router.post("/signout")
def signout(session: DbSession, signed: FormUser) -> Response:
    """End this session."""
    close_session(session, signed.session_id)
    session.commit()
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/signout-everywhere")
def signout_everywhere(session: DbSession, signed: FormUser) -> Response:
    """End every session of this user, on every device."""
    service.sign_out_everywhere(session, signed.user)
    session.commit()
    response = redirect("/signin")
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/welcome")
def welcome_form(request: Request, session: DbSession, token: str = "") -> Response:
    """The page of a one-time link: choose a password."""
    _row, user = service.token_user(session, token)
    return render(request, "welcome.html", token=token, invited=user, error=None)


@router.post("/welcome")
def welcome(
    request: Request,
    session: DbSession,
    token: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=200)],
    password_again: Annotated[str, Form(max_length=200)],
) -> Response:
    """Set the password (the link is the credential, used up here) and sign in."""
    settings = settings_of(request)
    _row, invited = service.token_user(session, token)
    if password != password_again:
        return render(
            request,
            "welcome.html",
            status=422,
            token=token,
            invited=invited,
            error="welcome.mismatch",
        )
    user = service.redeem_token(session, token, password, settings)
    ip = request.client.host if request.client else None
    _user, cookie = service.sign_in(session, user.email, password, settings, ip=ip)
    session.commit()
    response = redirect("/")
    _set_session_cookie(response, settings, cookie)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str = "/") -> Response:
    """Switch the console language (a preference cookie)."""
    response = redirect(_safe_next(next))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/")
def home(request: Request, signed: User) -> Response:
    """The workbench home of the signed-in person's role."""
    role = signed.user.role
    if role == "tto":
        return redirect("/portfolio")
    if role == "enterprise":
        return redirect("/needs")
    if role == "station":
        return redirect("/desk")
    return render(request, "home.html", platform_admin=is_platform_admin(signed))
