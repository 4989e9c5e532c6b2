"""The console's need form, written through the catalog service (the API's own rules)."""

from dataclasses import dataclass
from datetime import date

from pydantic import ValidationError
from sqlmodel import Session

from app.auth.access import ensure_owner, get_visible_need
from app.auth.principal import Principal, Role
from app.catalog import service
from app.catalog.enums import CooperationMode, NeedStatus
from app.catalog.models import TechNeed
from app.catalog.schemas.needs import NeedCreate, NeedUpdate
from app.errors import Forbidden, ValidationFailed


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

    def fields(self) -> dict[str, object]:
        """The form as the catalog schemas' fields (an empty region is none)."""
        return {
            "title": self.title,
            "description": self.description,
            "industry_code": self.industry_code,
            "region": (self.region or "").strip() or None,
            "cooperation_modes": self.cooperation_modes,
            "budget_min": self.budget_min,
            "budget_max": self.budget_max,
            "deadline": self.deadline,
        }


def _invalid(exc: ValidationError) -> ValidationFailed:
    errors = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]
    return ValidationFailed("invalid need", errors=errors)


def owned_need(session: Session, principal: Principal, need_id: int) -> TechNeed:
    """The need if the caller's enterprise posted it (admins: any); 404/403 otherwise."""
    need = get_visible_need(session, principal, need_id)
    ensure_owner(principal, need.org_id, f"need {need_id}")
    return need


def save_need(
    session: Session, principal: Principal, need: TechNeed | None, form: NeedForm
) -> TechNeed:
    """Create a draft (need None) or update one of the caller's needs."""
    try:
        if need is None:
            if principal.role is not Role.ENTERPRISE or principal.org_id is None:
                raise Forbidden("only enterprises post needs from the console")
            return service.create_need(session, NeedCreate(**form.fields()), principal.org_id)
        return service.update_need(session, need, NeedUpdate(**form.fields()))
    except ValidationError as exc:
        raise _invalid(exc) from None


def set_status(session: Session, need: TechNeed, target: NeedStatus) -> TechNeed:
    """Publish or close a need (closed is final)."""
    if target is NeedStatus.PUBLISHED:
        return service.publish_need(session, need)
    return service.close_need(session, need)
