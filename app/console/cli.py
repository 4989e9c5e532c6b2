"""CLI: ``patentmatch users …`` — platform and organisation administrators, invitation links."""

from typing import Annotated

import typer
from sqlmodel import Session

from app.accounts import service
from app.accounts.models import TokenPurpose
from app.cli_errors import fail
from app.console.identity import invite
from app.db import engine_from_settings, session_scope
from app.errors import AppError
from app.settings import Settings, get_settings

users_app = typer.Typer(
    help="Console users: administrators and invitation links.", no_args_is_help=True
)


def link(base_url: str, token: str) -> str:
    """The one-time link that lets a person set their password."""
    return f"{base_url.rstrip('/')}/welcome?token={token}"


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The administrator's e-mail (their sign-in name)")],
    name: Annotated[str, typer.Option(help="Display name")] = "管理员",
    org: Annotated[
        int | None, typer.Option(help="Organisation id: its first admin; none: platform admin")
    ] = None,
) -> None:
    """Create an administrator and print their one-time link to set a password."""
    settings = get_settings()
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine) as session:
            made = invite(
                session,
                settings,
                org_id=org,
                email=email,
                display_name=name,
                is_org_admin=org is not None,
                actor=None,
            )
            token = made.token
    except AppError as exc:
        raise fail(exc) from None
    finally:
        engine.dispose()
    typer.echo(link(settings.public_url, token))


def _first_sign_in(session: Session, settings: Settings, email: str) -> str:
    admin = service.first_platform_admin(session)
    if admin is None:
        made = invite(
            session,
            settings,
            org_id=None,
            email=email,
            display_name="平台管理员",
            is_org_admin=False,
            actor=None,
        )
        admin, token = made.user, made.token
    elif admin.password_hash is None:
        token = service.issue_token(session, admin, TokenPurpose.INVITE, settings, actor=None)
    else:
        return f"sign in at {settings.public_url.rstrip('/')}/signin as {admin.email}"
    url = link(settings.public_url, token)
    return f"first sign-in: open {url} and choose a password for {admin.email}"


@users_app.command("ensure-admin")
def ensure_admin(
    email: Annotated[
        str, typer.Option(help="E-mail of the platform admin to create when there is none")
    ] = "admin@localhost.localdomain",
) -> None:
    """Make sure a platform admin exists; print how to sign in (a fresh link if none is set)."""
    settings = get_settings()
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine) as session:
            message = _first_sign_in(session, settings, email)
    except AppError as exc:
        raise fail(exc) from None
    finally:
        engine.dispose()
    typer.echo(message)
