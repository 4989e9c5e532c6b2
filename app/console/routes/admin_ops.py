"""Platform administration across organisations: users and API keys, import jobs, alert
subscriptions and their delivery log, the search index's status and lag, and the audit log."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts import audit
from app.accounts.models import AuditEntry
from app.api.observability import readiness
from app.auth.keys import revoke_key
from app.auth.principal import Role
from app.catalog.jobs import JobStatus
from app.console import admin_queries as queries
from app.console.forms import enum_value, optional_date, optional_int
from app.console.routes.admin import require_platform_admin
from app.console.web import ConsoleRoute, DbSession, FormUser, User, redirect, render
from app.deals.models import DeliveryStatus
from app.types import DbId, utcnow

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Short = Annotated[str, Query(max_length=200)]
Choice = Annotated[str, Query(max_length=40)]


def _org_id(raw: str) -> int | None:
    return optional_int(raw, "org", low=0, high=2**31 - 1)


@router.get("/admin/people")
def people(
    request: Request,
    session: DbSession,
    signed: User,
    org: Choice = "",
    role: Choice = "",
    state: Choice = "",
    q: Short = "",
) -> Response:
    """Users and API keys of every organisation, with filters (org 0: platform admins)."""
    require_platform_admin(signed)
    chosen_role = enum_value(Role, role, "role").value if role else None
    chosen_state = enum_value(queries.PeopleState, state, "state").value if state else None
    only = queries.PeopleFilter(_org_id(org), chosen_role, chosen_state, q)
    found_users = queries.users(session, only)
    now = utcnow()
    found_keys = queries.keys(session, only, now)
    ids = {u.org_id for u in found_users} | {k.org_id for k in found_keys}
    return render(
        request,
        "admin_people.html",
        users=found_users,
        keys=found_keys,
        names=queries.org_names(session, ids),
        roles=list(Role),
        only=only,
        live_keys={k.id for k in found_keys if queries.key_is_live(k, now)},
    )


@router.post("/admin/keys/{key_id}/revoke")
def revoke(key_id: DbId, session: DbSession, signed: FormUser) -> Response:
    """Revoke an API key of any organisation, audited."""
    require_platform_admin(signed)
    key = revoke_key(session, key_id)
    audit.record(session, "api_key_revoked", f"key:{key_id}", actor=signed.user, org_id=key.org_id)
    session.commit()
    return redirect("/admin/people")


@router.get("/admin/imports")
def imports(
    request: Request, session: DbSession, signed: User, status: Choice = "", org: Choice = ""
) -> Response:
    """Import jobs of every organisation, newest first."""
    require_platform_admin(signed)
    chosen = enum_value(JobStatus, status, "status") if status else None
    jobs = queries.import_jobs(session, chosen, _org_id(org))
    return render(
        request,
        "admin_imports.html",
        jobs=jobs,
        names=queries.org_names(session, {j.owner_org_id for j in jobs}),
        statuses=list(JobStatus),
        chosen_status=status,
        org=org,
    )


@router.get("/admin/alerts")
def alerts(
    request: Request,
    session: DbSession,
    signed: User,
    status: Choice = "",
    subscription: Choice = "",
    org: Choice = "",
) -> Response:
    """Alert subscriptions and the webhook delivery log, with filters."""
    require_platform_admin(signed)
    chosen = enum_value(DeliveryStatus, status, "status") if status else None
    sub_id = optional_int(subscription, "subscription", low=1, high=2**31 - 1)
    subs = queries.subscriptions(session, _org_id(org))
    return render(
        request,
        "admin_alerts.html",
        subscriptions=subs,
        deliveries=queries.deliveries(session, chosen, sub_id),
        names=queries.org_names(session, {s.org_id for s in subs}),
        statuses=list(DeliveryStatus),
        chosen_status=status,
        subscription=subscription,
        org=org,
    )


@router.get("/admin/index")
def index_status(request: Request, signed: User) -> Response:
    """The search index: model, size, last change, and the indexer's lag (as /readyz says)."""
    require_platform_admin(signed)
    ready, details = readiness(request)
    return render(request, "admin_index.html", ready=ready, details=details)


@router.get("/admin/audit")
def audit_log(
    request: Request,
    session: DbSession,
    signed: User,
    action: Choice = "",
    org: Choice = "",
    actor: Short = "",
    subject: Short = "",
    since: Choice = "",
    until: Choice = "",
    before: Choice = "",
) -> Response:
    """The audit log of the whole platform, newest first, with filters and older pages."""
    require_platform_admin(signed)
    only = queries.AuditFilter(
        action=action or None,
        org_id=_org_id(org),
        actor=actor,
        subject=subject,
        since=optional_date(since, "since"),
        until=optional_date(until, "until"),
        before=optional_int(before, "before", low=1, high=2**31 - 1),
    )
    entries = queries.audit_entries(session, only)
    return render(
        request,
        "admin_audit.html",
        entries=entries,
        only=only,
        actions=queries.audit_actions(session),
        emails=queries.emails(session, {e.actor_user_id for e in entries}),
        names=queries.org_names(session, {e.org_id for e in entries}),
        older=_older_page(request, entries),
    )


def _older_page(request: Request, entries: list[AuditEntry]) -> str | None:
    """The link to the next (older) page of the same filters, when this one is full."""
    if len(entries) < queries.LIMIT:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "before"}
    return "/admin/audit?" + urlencode({**params, "before": entries[-1].id})
