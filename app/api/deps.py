"""FastAPI dependencies as ``Annotated`` aliases: settings, session, principal, engine, hooks."""

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth.keys import authenticate
from app.auth.principal import Principal, Role
from app.catalog.hooks import CatalogHooks
from app.errors import Forbidden, ServiceUnavailable, Unauthorized
from app.search.engine import MatchEngine
from app.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


# Methods that never write (the key's last-use time aside, which is best effort).
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; routes commit explicitly, anything uncommitted is rolled back.

    Writing requests use the writer engine, so that concurrent writes queue on SQLite.
    """
    state = request.app.state
    engine = state.engine if request.method in _READ_ONLY_METHODS else state.write_engine
    with Session(engine) as session:
        yield session


def get_match_engine(request: Request) -> MatchEngine:
    """The match engine built in the lifespan; 503 while it is not loaded."""
    matcher: MatchEngine | None = getattr(request.app.state, "matcher", None)
    if matcher is None:
        raise ServiceUnavailable("the match engine is not loaded")
    return matcher


def get_catalog_hooks(request: Request) -> CatalogHooks:
    """The reactions to catalog writes the app was wired with (``app.wiring.catalog_hooks``)."""
    hooks: CatalogHooks = request.app.state.catalog_hooks
    return hooks


# auto_error=False: a missing key must become our own problem+json 401, not FastAPI's 403.
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="API key issued by `patentmatch keys create`"
)
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token")


def get_principal(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    x_api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the caller by ``X-API-Key`` or ``Authorization: Bearer``, then rate-limit."""
    secret = x_api_key or (bearer.credentials if bearer else None)
    if not secret:
        raise Unauthorized("missing API key: send X-API-Key or Authorization: Bearer")
    # Guessing keys costs a token per failure from the caller's address; once they are
    # spent, even a right guess gets 429 until the bucket refills.
    failures = request.app.state.auth_failure_limiter
    client = ("auth-failure", request.client.host if request.client else "")
    failures.check(client)
    try:
        principal = authenticate(session, secret)
    except Unauthorized:
        failures.hit(client)
        raise
    request.state.principal = principal  # for the request log
    request.app.state.rate_limiter.hit(principal.key_id)
    return principal


def require_metrics_access(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    x_api_key: Annotated[str | None, Depends(_api_key_header)],
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Admit /metrics callers: anyone if ``metrics_public``, else the token or an admin key."""
    settings: Settings = request.app.state.settings
    if settings.metrics_public:
        return
    token = bearer.credentials if bearer else ""
    if settings.metrics_token and hmac.compare_digest(token, settings.metrics_token):
        return
    principal = get_principal(request, session, x_api_key, bearer)
    if not principal.is_admin():
        raise Forbidden("metrics are for admins and the configured metrics token")


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]

MatcherDep = Annotated[MatchEngine, Depends(get_match_engine)]
CatalogHooksDep = Annotated[CatalogHooks, Depends(get_catalog_hooks)]


def require_roles(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (admin is always admitted)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role {principal.role.value} may not do this (allowed: {names})")
        return principal

    return dependency
