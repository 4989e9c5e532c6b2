"""FastAPI dependencies as ``Annotated`` aliases: settings, session, principal, engine, hooks."""

import hmac
from collections.abc import Callable, Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
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


# Methods that never write.
_READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READ_ONLY_MARK = "__patentmatch_read_only__"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def read_only(endpoint: Endpoint) -> Endpoint:
    """Mark a POST route that only reads (e.g. ``POST /match/text``): it gets a read session."""
    setattr(endpoint, _READ_ONLY_MARK, True)
    return endpoint


def _reads_only(request: Request) -> bool:
    route = request.scope.get("route")
    marked = getattr(getattr(route, "endpoint", None), _READ_ONLY_MARK, False)
    return request.method in _READ_ONLY_METHODS or bool(marked)


class WriteSession(Session):
    """A writing request's session: its transaction takes the write lock (SQLite); once it
    has committed, what the request still reads (the response) runs on the read engine, so
    the lock is held only from the route's first statement to its commit."""

    def __init__(self, write: Engine, read: Engine) -> None:
        super().__init__(write)
        self._read = read
        self._committed = False

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        """The read engine after the commit, else the writer."""
        return self._read if self._committed else super().get_bind(*args, **kwargs)

    def commit(self) -> None:
        """Commit; later statements of the request read."""
        super().commit()
        self._committed = True


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; routes commit explicitly, anything uncommitted is rolled back.

    Writing requests use the writer engine, so that concurrent writes queue on SQLite; reading
    ones a plain transaction, which on SQLite (WAL) neither waits for writers nor blocks them.
    """
    state = request.app.state
    if _reads_only(request):
        with Session(state.engine) as session:
            yield session
    else:
        with WriteSession(state.write_engine, state.engine) as session:
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
    # Its own short read: a writing request's transaction (and lock) starts with the route.
    with Session(request.app.state.engine) as session:
        try:
            principal = authenticate(session, secret)
        except Unauthorized:
            failures.hit(client)
            raise
    request.state.principal = principal  # for the request log
    request.app.state.rate_limiter.hit(principal.key_id)
    usage = getattr(request.app.state, "key_usage", None)
    if usage is not None:
        usage.touch(principal.key_id)
    return principal


def require_metrics_access(
    request: Request,
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
    principal = get_principal(request, x_api_key, bearer)
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
