"""Writing an enterprise's needs from the console: create, edit, publish, close.

A stopgap until the catalog service layer (architecture issue) offers these writes to both
the API and the console; the rules are the API routes' own (owner only, budget order,
closed is final, every write logged for the index).
"""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from app.auth.principal import Principal, Role
from app.catalog.changes import record_change
from app.catalog.codes import clean_industry
from app.catalog.enums import ChangeOp, CooperationMode, EntityKind, NeedStatus
from app.catalog.models import TechNeed
from app.console.forms import clean_region, invalid
from app.errors import Conflict, Forbidden, NotFound
from app.types import utcnow


@dataclass(frozen=True)
class NeedForm:
    """The need form's fields, parsed."""

    title: str
    description: str
    industry_code: str | None
    region: str | None
    cooperation_modes: list[CooperationMode]
    budget_min: int | None
    budget_max: int | None
    deadline: date | None

    def checked(self) -> "NeedForm":
        """The same form with codes validated; 422 naming the field otherwise."""
        title = self.title.strip()
        if not 1 <= len(title) <= 300:
            raise invalid("title", "1 to 300 characters")
        low, high = self.budget_min, self.budget_max
        if low is not None and high is not None and low > high:
            raise invalid("budget_min", "must not exceed budget_max")
        industry = clean_industry(self.industry_code.strip()) if self.industry_code else None
        return NeedForm(
            title,
            self.description.strip(),
            industry,
            clean_region(self.region),
            self.cooperation_modes,
            low,
            high,
            self.deadline,
        )


def owned_need(session: Session, principal: Principal, need_id: int) -> TechNeed:
    """The need if the caller's enterprise posted it (admins: any); 404/403 otherwise."""
    need = session.get(TechNeed, need_id)
    if need is None:
        raise NotFound(f"need {need_id} does not exist")
    if principal.role is not Role.ADMIN and need.org_id != principal.org_id:
        raise Forbidden(f"need {need_id} belongs to another organisation")
    return need


def _save(session: Session, need: TechNeed) -> TechNeed:
    need.updated_at = utcnow()
    session.add(need)
    session.flush()
    assert need.id is not None
    record_change(session, EntityKind.NEED, need.id, ChangeOp.UPSERT)
    return need


def save_need(
    session: Session, principal: Principal, need: TechNeed | None, form: NeedForm
) -> TechNeed:
    """Create a draft (need None) or update one of the caller's needs."""
    clean = form.checked()
    if need is None:
        if principal.role is not Role.ENTERPRISE or principal.org_id is None:
            raise Forbidden("only enterprises post needs from the console")
        need = TechNeed(org_id=principal.org_id, title=clean.title)
    if need.status is NeedStatus.CLOSED:
        raise Conflict(f"need {need.id} is closed")
    need.title = clean.title
    need.description = clean.description
    need.industry_code = clean.industry_code
    need.region = clean.region
    need.cooperation_modes = [m.value for m in clean.cooperation_modes]
    need.budget_min, need.budget_max, need.deadline = (
        clean.budget_min,
        clean.budget_max,
        clean.deadline,
    )
    return _save(session, need)


def set_status(session: Session, need: TechNeed, target: NeedStatus) -> TechNeed:
    """Publish or close a need (closed is final)."""
    if need.status is NeedStatus.CLOSED:
        raise Conflict(f"need {need.id} is closed")
    if need.status is target:
        raise Conflict(f"need {need.id} is already {target.value}")
    need.status = target
    if target is NeedStatus.PUBLISHED:
        need.published_at = utcnow()
    return _save(session, need)
