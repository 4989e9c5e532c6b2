"""Organisations for the operator: create one with validated codes, find one by id or name."""

from dataclasses import dataclass

from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.catalog import service
from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.schemas.orgs import OrgCreate
from app.errors import Conflict, NotFound, ValidationFailed


@dataclass(frozen=True)
class NewOrg:
    """What ``orgs create`` asks for."""

    kind: OrgKind
    name: str
    region: str | None = None
    uscc: str | None = None


def _invalid(error: ValidationError) -> ValidationFailed:
    errors = [
        {"field": ".".join(str(part) for part in item["loc"]), "message": item["msg"]}
        for item in error.errors()
    ]
    return ValidationFailed("invalid organisation", errors=errors)


def create_org(session: Session, new: NewOrg) -> Organisation:
    """Add an organisation (codes and the unused name checked by the catalog service).

    Names stay unique so that ``--org NAME`` always means one organisation. Flushes only.
    """
    try:
        body = OrgCreate(kind=new.kind, name=new.name, region=new.region, uscc=new.uscc)
    except ValidationError as error:
        raise _invalid(error) from None
    return service.create_org(session, body)


def resolve_org(session: Session, ref: str) -> Organisation:
    """The organisation with id ``ref``, else the only one named ``ref``."""
    text = ref.strip()
    if text.isdigit():
        found = session.get(Organisation, int(text))
        if found is not None:
            return found
    named = list(session.exec(select(Organisation).where(Organisation.name == text)))
    if len(named) == 1:
        return named[0]
    if named:
        ids = ", ".join(str(org.id) for org in named)
        raise Conflict(f"several organisations are named {text!r} (ids {ids}): pass the id")
    what = f"organisation {text}" if text.isdigit() else f"organisation named {text!r}"
    raise NotFound(f"{what} does not exist (see `patentmatch orgs list`)")


def list_orgs(session: Session, kind: OrgKind | None = None) -> list[Organisation]:
    """Organisations by id, optionally of one kind."""
    stmt = select(Organisation).order_by(col(Organisation.id))
    if kind is not None:
        stmt = stmt.where(Organisation.kind == kind)
    return list(session.exec(stmt))
