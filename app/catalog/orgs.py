"""Organisations for the operator: create one with validated codes, find one by id or name."""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.region import InvalidRegionCode, validate_region
from app.catalog.uscc import InvalidUscc, validate_uscc
from app.errors import Conflict, NotFound, ValidationFailed

NAME_MAX = 200


@dataclass(frozen=True)
class NewOrg:
    """What ``orgs create`` asks for."""

    kind: OrgKind
    name: str
    region: str | None = None
    uscc: str | None = None


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"invalid {field}", errors=[{"field": field, "message": message}])


def _clean(new: NewOrg) -> NewOrg:
    name = new.name.strip()
    if not name or len(name) > NAME_MAX:
        raise _invalid("name", f"must be 1–{NAME_MAX} characters")
    try:
        region = validate_region(new.region) if new.region else None
    except InvalidRegionCode as exc:
        raise _invalid("region", str(exc)) from None
    try:
        uscc = validate_uscc(new.uscc) if new.uscc else None
    except InvalidUscc as exc:
        raise _invalid("uscc", str(exc)) from None
    return NewOrg(new.kind, name, region, uscc)


def create_org(session: Session, new: NewOrg) -> Organisation:
    """Add an organisation after validating its codes; names and USCCs must be unused.

    Names stay unique so that ``--org NAME`` always means one organisation. Flushes only.
    """
    clean = _clean(new)
    same_name = session.exec(select(Organisation).where(Organisation.name == clean.name)).first()
    if same_name is not None:
        raise Conflict(f"organisation {same_name.id} is already named {clean.name!r}")
    if clean.uscc is not None:
        same = session.exec(select(Organisation).where(Organisation.uscc == clean.uscc)).first()
        if same is not None:
            raise Conflict(f"organisation {same.id} already has USCC {clean.uscc}")
    org = Organisation(kind=clean.kind, name=clean.name, region=clean.region, uscc=clean.uscc)
    session.add(org)
    session.flush()
    return org


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
