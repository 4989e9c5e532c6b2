"""Industry chains in the console: the chains of the caller's regions, a chain's nodes and tags
(confirm or remove), and editing chains as YAML (admins, the officials of the region)."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session, col, select

from app.catalog.models import Patent, TechNeed
from app.chains import queries
from app.chains.access import (
    ensure_may_decide,
    ensure_may_edit,
    ensure_may_read,
    may_decide,
    read_scope,
)
from app.chains.files import UnreadableChainFile, decode, dump
from app.chains.models import ChainTag, IndustryChain, TagEntity, TagStatus
from app.chains.spec import parse_chains
from app.chains.store import export_chain, upsert_chain
from app.console.forms import enum_value
from app.console.web import ConsoleRoute, DbSession, FormUser, User, principal_of, redirect, render
from app.db import get_or_404
from app.errors import Forbidden, ValidationFailed
from app.types import utcnow

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
# Tags shown on a chain's page (newest first); the API pages through all of them.
SHOWN_TAGS = 200
MAX_YAML = 200_000


def _editor(signed: User, region: str | None = None) -> bool:
    """Whether the user may edit chains (of ``region``, or of any region they govern)."""
    try:
        ensure_may_edit(principal_of(signed), region or (signed.jurisdiction or ""))
    except Forbidden:
        return False
    return True


@router.get("/chains")
def chains(request: Request, session: DbSession, signed: User) -> Response:
    """The chains of the caller's regions with their node and tag counts."""
    rows = queries.chain_summaries(session, read_scope(principal_of(signed)))
    return render(request, "chains.html", chains=rows, can_edit=_editor(signed))


def _titles(session: Session, tags: list[ChainTag]) -> dict[tuple[str, int], str]:
    """The title of every tagged patent and need."""
    out: dict[tuple[str, int], str] = {}
    for entity, model in ((TagEntity.PATENT, Patent), (TagEntity.NEED, TechNeed)):
        ids = [t.entity_id for t in tags if t.entity is entity]
        stmt: Any = select(model.id, model.title).where(col(model.id).in_(ids))
        out.update({(entity.value, int(i)): title for i, title in session.exec(stmt)})
    return out


@router.get("/chains/{chain_id}")
def chain(
    request: Request, chain_id: int, session: DbSession, signed: User, node: int | None = None
) -> Response:
    """A chain's nodes, and the tags of the chain (or of one node) to review."""
    principal = principal_of(signed)
    found = get_or_404(session, IndustryChain, chain_id, "chain")
    ensure_may_read(principal, found)
    queries.node_of(session, found, node)
    stmt = select(ChainTag).where(ChainTag.chain_id == chain_id)
    if node is not None:
        stmt = stmt.where(ChainTag.node_id == node)
    tags = list(session.exec(stmt.order_by(col(ChainTag.score).desc()).limit(SHOWN_TAGS)))
    view = queries.chain_view(session, found)
    return render(
        request, "chain.html", chain=view, tags=tags, titles=_titles(session, tags),
        node=node, names={n.id: n.name for n in view.nodes},
        decidable={t.id for t in tags if may_decide(session, principal, t)},
        can_edit=_editor(signed, found.owner_region),
    )  # fmt: skip


@router.post("/chains/{chain_id}/tags/{tag_id}")
def decide(
    chain_id: int,
    tag_id: int,
    session: DbSession,
    signed: FormUser,
    status: Annotated[str, Form(max_length=20)],
    node: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Confirm or remove a tag (or hand it back to the tagger), then back to the chain."""
    principal = principal_of(signed)
    tag = get_or_404(session, ChainTag, tag_id, "tag")
    if tag.chain_id != chain_id:
        raise Forbidden("this tag belongs to another chain")
    ensure_may_decide(session, principal, tag)
    tag.status = enum_value(TagStatus, status, "status")
    tag.decided_by_key_id, tag.decided_at = principal.key_id, utcnow()
    session.add(tag)
    session.commit()
    back = f"/chains/{chain_id}" + (f"?node={int(node)}" if node.isdigit() else "")
    return redirect(back)


@router.get("/chains-edit")
def edit_form(
    request: Request, session: DbSession, signed: User, id: int | None = None
) -> Response:
    """The YAML of a chain (or an empty template) to edit."""
    text = ""
    if id is not None:
        found = get_or_404(session, IndustryChain, id, "chain")
        ensure_may_edit(principal_of(signed), found.owner_region)
        text = dump([export_chain(session, found)], "yaml")
    elif not _editor(signed):
        raise Forbidden("only admins and government officials may edit chains")
    return render(request, "chain_edit.html", text=text, errors=[])


@router.post("/chains-edit")
def save(
    request: Request,
    session: DbSession,
    signed: FormUser,
    text: Annotated[str, Form(max_length=MAX_YAML)],
) -> Response:
    """Create or update the chains of the YAML; errors re-show it naming each field."""
    principal = principal_of(signed)
    try:
        specs = parse_chains(decode(text, name="YAML"), "YAML")
        for spec in specs:
            ensure_may_edit(principal, spec.owner_region)
            existing = queries.chain_by_key(session, spec.key)
            if existing is not None:
                ensure_may_edit(principal, existing.owner_region)
            saved = upsert_chain(session, spec).chain
    except (ValidationFailed, UnreadableChainFile) as failed:
        errors = failed.extra.get("errors", []) or [{"field": "text", "message": failed.detail}]
        return render(request, "chain_edit.html", status=422, text=text, errors=errors)
    session.commit()
    return redirect(f"/chains/{saved.id}" if len(specs) == 1 else "/chains")
