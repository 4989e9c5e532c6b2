"""Console plumbing: templates, language, the signed-in user, CSRF, and HTML error pages."""

import hmac
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import Depends, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlmodel import Session

from app.accounts.sessions import SignedIn, resolve
from app.auth.principal import Principal, Role, jurisdiction_of
from app.catalog.models import Organisation
from app.console.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalogue
from app.errors import AppError, Forbidden, Unauthorized, ValidationFailed
from app.settings import Settings

SESSION_COOKIE = "pm_session"
LANG_COOKIE = "pm_lang"
# Before sign-in there is no session to hold a CSRF token: the form echoes this cookie.
SIGNIN_CSRF_COOKIE = "pm_signin_csrf"
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})
# Console pages load only their own assets; inline styles carry the confidence bars.
CONSOLE_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class ConsoleState:
    """What the console keeps on ``app.state.console``: its templates and catalogue."""

    env: jinja2.Environment
    catalogue: Catalogue

    @classmethod
    def build(cls) -> "ConsoleState":
        """Load the packaged templates and strings."""
        env = jinja2.Environment(
            loader=jinja2.PackageLoader("app.console", "templates"),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        return cls(env=env, catalogue=Catalogue.load())


class SignInRequired(Unauthorized):
    """No valid session: the console redirects to the sign-in page."""


def lang_of(request: Request) -> str:
    """The visitor's language: the cookie, else Simplified Chinese."""
    lang = request.cookies.get(LANG_COOKIE, DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def render(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the language, translator, user and CSRF token in scope."""
    state: ConsoleState = request.app.state.console
    lang = lang_of(request)
    signed: SignedIn | None = getattr(request.state, "signed_in", None)
    page = state.env.get_template(name).render(
        request=request,
        lang=lang,
        t=state.catalogue.translator(lang),
        user=signed.user if signed else None,
        csrf=signed.csrf_token if signed else "",
        path=request.url.path,
        **context,
    )
    headers = {"Content-Security-Policy": CONSOLE_CSP, "X-Frame-Options": "DENY"}
    return HTMLResponse(page, status_code=status, headers=headers)


def db_session(request: Request) -> Iterator[Session]:
    """One database session per request (the writer engine for writes, as in the API)."""
    state = request.app.state
    engine = state.engine if request.method in _READ_ONLY else state.write_engine
    with Session(engine) as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def settings_of(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def signed_in(request: Request, session: DbSession) -> SignedIn:
    """The user behind the session cookie; otherwise the console redirects to sign-in."""
    found = resolve(session, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise SignInRequired("please sign in")
    if found.user.role == Role.GOVERNMENT.value and found.user.org_id is not None:
        org = session.get(Organisation, found.user.org_id)
        region = org.region if org is not None else None
        found = replace(found, jurisdiction=jurisdiction_of(Role.GOVERNMENT, region))
    request.state.signed_in = found
    return found


def checked_form(
    signed: Annotated[SignedIn, Depends(signed_in)], csrf: Annotated[str, Form()] = ""
) -> SignedIn:
    """A signed-in user whose form carries the session's CSRF token (403 otherwise)."""
    if not hmac.compare_digest(csrf.encode(), signed.csrf_token.encode()):
        raise Forbidden("the form has expired; reload the page and try again")
    return signed


User = Annotated[SignedIn, Depends(signed_in)]
FormUser = Annotated[SignedIn, Depends(checked_form)]


def principal_of(signed: SignedIn) -> Principal:
    """The domain principal a person acts as: their role, organisation and actor key."""
    user = signed.user
    if user.actor_key_id is None:
        raise Forbidden("this account has no actor key; ask an administrator")
    return Principal(
        key_id=user.actor_key_id,
        org_id=user.org_id,
        role=Role(user.role),
        jurisdiction=signed.jurisdiction,
    )


def require_role(signed: SignedIn, *roles: Role) -> Principal:
    """The principal, if its role is one of ``roles`` (platform admins always pass)."""
    principal = principal_of(signed)
    if principal.role is not Role.ADMIN and principal.role not in roles:
        raise Forbidden("your role may not open this page")
    return principal


def is_platform_admin(signed: SignedIn) -> bool:
    """Platform administrators: the admin role without an organisation."""
    return signed.user.role == Role.ADMIN.value and signed.user.org_id is None


def redirect(url: str) -> RedirectResponse:
    """303 See Other, the answer to a successful form post."""
    return RedirectResponse(url, status_code=303)


def _error_page(request: Request, exc: AppError) -> Response:
    if isinstance(exc, SignInRequired):
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return redirect(f"/signin?next={target}")
    errors = exc.extra.get("errors", [])
    return render(request, "error.html", status=exc.status, error=exc, errors=errors)


class ConsoleRoute(APIRoute):
    """Console routes answer errors with an HTML page (or a sign-in redirect), not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler so that expected errors become pages."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except AppError as exc:
                return _error_page(request, exc)
            except RequestValidationError as exc:
                fields = [
                    {"field": ".".join(map(str, e["loc"][1:])), "message": e["msg"]}
                    for e in exc.errors()
                ]
                return _error_page(request, ValidationFailed("invalid input", errors=fields))

        return route
