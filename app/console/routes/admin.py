"""Platform administration (平台管理), organisations: create one with its first admin, verify its
unified social credit code, flag and merge duplicates. Platform admins only."""

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.accounts.sessions import SignedIn
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.service import name_key
from app.console import admin_queries, identity
from app.console.cli import link
from app.console.forms import enum_value
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
from app.db import get_or_404
from app.errors import Forbidden
from app.types import DbId

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Short = Annotated[str, Query(max_length=200)]


def require_platform_admin(signed: SignedIn) -> None:
    """403 unless the visitor is a platform administrator."""
    if not is_platform_admin(signed):
        raise Forbidden("only platform administrators may open platform administration")


def _orgs_page(
    request: Request,
    session: Session,
    *,
    q: str = "",
    kind: OrgKind | None = None,
    duplicates: bool = False,
    **shown: object,
) -> Response:
    return render(
        request,
        "orgs.html",
        rows=admin_queries.org_rows(session, q, kind, duplicates),
        kinds=list(OrgKind),
        q=q,
        kind=kind,
        duplicates=duplicates,
        shown=shown,
    )


@router.get("/admin/orgs")
def organisations(
    request: Request,
    session: DbSession,
    signed: User,
    q: Short = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    duplicates: bool = False,
) -> Response:
    """Organisations with their counts, USCC checks and duplicates; the form to add one."""
    require_platform_admin(signed)
    chosen = enum_value(OrgKind, kind, "kind") if kind else None
    return _orgs_page(request, session, q=q, kind=chosen, duplicates=duplicates)


@router.post("/admin/orgs")
def create_organisation(
    request: Request,
    session: DbSession,
    signed: FormUser,
    kind: Annotated[str, Form(max_length=32)],
    name: Annotated[str, Form(max_length=200)],
    admin_email: Annotated[str, Form(max_length=254)],
    admin_name: Annotated[str, Form(max_length=100)],
    region: Annotated[str, Form(max_length=12)] = "",
    uscc: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Create an organisation (a taken name is refused, 409) and invite its first admin."""
    require_platform_admin(signed)
    org_kind = enum_value(OrgKind, kind, "kind")
    org = identity.create_organisation(session, signed.user, org_kind, name, region, uscc)
    made = identity.invite(
        session,
        settings_of(request),
        org_id=org.id,
        email=admin_email,
        display_name=admin_name,
        is_org_admin=True,
        actor=signed.user,
    )
    session.commit()
    return _orgs_page(
        request, session, link=link(str(request.base_url), made.token), link_for=made.user.email
    )


def _candidates(session: Session, org: Organisation) -> list[Organisation]:
    """Organisations of the same kind to merge with, same-name ones first (one query)."""
    stmt = (
        select(Organisation)
        .where(Organisation.kind == org.kind, col(Organisation.id) != org.id)
        .order_by(col(Organisation.name))
        .limit(500)
    )
    key = name_key(org.name)
    return sorted(session.exec(stmt), key=lambda o: name_key(o.name) != key)


@router.get("/admin/orgs/{org_id}")
def organisation(
    request: Request, org_id: DbId, session: DbSession, signed: User, merged: Short = ""
) -> Response:
    """One organisation: its counts, its USCC, and merging a duplicate into it."""
    require_platform_admin(signed)
    org = get_or_404(session, Organisation, org_id, "organisation")
    row = admin_queries.OrgRow(org, admin_queries.count_by_org(session, [org_id])[org_id])
    return render(
        request,
        "admin_org.html",
        row=row,
        candidates=_candidates(session, org),
        merged=merged,
    )


@router.post("/admin/orgs/{org_id}/uscc")
def verify_uscc(
    org_id: DbId,
    session: DbSession,
    signed: FormUser,
    uscc: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Check a unified social credit code (format, check character, not taken) and record it."""
    require_platform_admin(signed)
    identity.set_uscc(session, signed.user, org_id, uscc)
    session.commit()
    return redirect(f"/admin/orgs/{org_id}")


@router.post("/admin/orgs/{org_id}/merge")
def merge_organisation(
    request: Request,
    org_id: DbId,
    session: DbSession,
    signed: FormUser,
    duplicate: Annotated[DbId, Form()],
) -> Response:
    """Merge the duplicate into this organisation: its records move here, it is deleted."""
    require_platform_admin(signed)
    report = identity.merge_organisations(session, signed.user, org_id, duplicate)
    session.commit()
    request.app.state.matcher.mark_written()  # moved patents and needs are re-indexed
    return redirect(f"/admin/orgs/{org_id}?merged={report.merged_id}")
