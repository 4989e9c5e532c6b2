"""Organisation admins: colleagues (invite, deactivate, reset), API keys, the audit log.
(Platform administration is in ``admin.py``.)"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import audit, service
from app.accounts.models import TokenPurpose
from app.accounts.sessions import SignedIn
from app.catalog.models import Organisation
from app.console import identity
from app.console.cli import link
from app.console.forms import optional_int
from app.console.web import (
    ConsoleRoute,
    DbSession,
    FormUser,
    User,
    is_platform_admin,
    redirect,
    render,
    settings_of,
)
from app.errors import Forbidden

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


def _require_admin(signed: SignedIn) -> None:
    if not (signed.user.is_org_admin or is_platform_admin(signed)):
        raise Forbidden("only organisation administrators may manage colleagues")


def _team_page(
    request: Request, session: Session, signed: SignedIn, *, status: int = 200, **shown: object
) -> Response:
    org_id = signed.user.org_id
    org = session.get(Organisation, org_id) if org_id is not None else None
    return render(
        request,
        "team.html",
        status=status,
        org=org,
        members=service.org_users(session, org_id),
        entries=audit.recent(session, org_id, limit=30),
        shown=shown,
    )


@router.get("/team")
def team(request: Request, session: DbSession, signed: User) -> Response:
    """Colleagues, API keys and the audit log of the admin's organisation."""
    _require_admin(signed)
    return _team_page(request, session, signed)


@router.post("/team/invite")
def invite_colleague(
    request: Request,
    session: DbSession,
    signed: FormUser,
    email: Annotated[str, Form(max_length=254)],
    display_name: Annotated[str, Form(max_length=100)],
    org_admin: Annotated[bool, Form()] = False,
) -> Response:
    """Invite a colleague: their account and a one-time link to pass on to them."""
    _require_admin(signed)
    made = identity.invite(
        session,
        settings_of(request),
        org_id=signed.user.org_id,
        email=email,
        display_name=display_name,
        is_org_admin=org_admin,
        actor=signed.user,
    )
    session.commit()
    return _team_page(
        request,
        session,
        signed,
        link=link(str(request.base_url), made.token),
        link_for=made.user.email,
    )


@router.post("/team/{user_id}/deactivate")
def deactivate_colleague(user_id: int, session: DbSession, signed: FormUser) -> Response:
    """Deactivate a colleague (sessions ended, actor key revoked)."""
    _require_admin(signed)
    identity.deactivate(session, signed.user, user_id)
    session.commit()
    return redirect("/team")


@router.post("/team/{user_id}/reset")
def reset_colleague(
    request: Request, user_id: int, session: DbSession, signed: FormUser
) -> Response:
    """Reset a colleague's password: sessions end, a one-time link sets a new one."""
    _require_admin(signed)
    user = service.manageable_user(session, signed.user, user_id)
    token = service.issue_token(
        session, user, TokenPurpose.RESET, settings_of(request), actor=signed.user
    )
    session.commit()
    return _team_page(
        request, session, signed, link=link(str(request.base_url), token), link_for=user.email
    )


@router.post("/team/keys")
def create_key(
    request: Request,
    session: DbSession,
    signed: FormUser,
    label: Annotated[str, Form(max_length=200)] = "",
    expires_days: Annotated[str, Form(max_length=6)] = "",
) -> Response:
    """Create an API key for an integration; its secret is shown once."""
    _require_admin(signed)
    days = optional_int(expires_days, "expires_days", low=1, high=36_500)
    key_id, secret = identity.create_api_key(session, signed.user, label, days)
    session.commit()
    return _team_page(request, session, signed, key_secret=secret, key_id=key_id)
