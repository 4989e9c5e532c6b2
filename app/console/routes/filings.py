"""Product filing in the console (专利密集型产品备案): the enterprise registers products and cites
patents; the officials of the jurisdiction review the submitted filings."""

from typing import Annotated, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from app.auth.principal import Principal, Role
from app.catalog.industry import IndustryClasses
from app.catalog.models import Organisation
from app.console.forms import enum_value, invalid, optional_int
from app.console.web import ConsoleRoute, DbSession, FormUser, User, redirect, render, require_role
from app.errors import ValidationFailed
from app.filings import service
from app.filings.access import listing, visible_product
from app.filings.models import EDITABLE, FiledProduct, FilingEvent, FilingStatus, RightBasis
from app.filings.reports import filings_csv
from app.filings.schemas import Decision, PatentLinkIn, ProductCreate, ReviewIn
from app.licensing.service import today_utc
from app.types import YUAN_MAX, utcnow

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
LISTED = 200
Short = Annotated[str, Form(max_length=20)]
ModelT = TypeVar("ModelT", bound=BaseModel)


def _classes(request: Request) -> IndustryClasses | None:
    classes: IndustryClasses | None = getattr(request.app.state, "industry_classes", None)
    return classes


def _reader(signed: User) -> Principal:
    return require_role(signed, Role.ENTERPRISE, Role.GOVERNMENT)


def _names(session: Session, org_ids: set[int]) -> dict[int | None, str]:
    stmt = select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(org_ids))
    return dict(session.exec(stmt).all())


def _rows(session: Session, principal: Principal, status: str) -> list[FiledProduct]:
    stmt = listing(principal)
    if status:
        stmt = stmt.where(FiledProduct.status == enum_value(FilingStatus, status, "status"))
    return list(session.exec(stmt.order_by(col(FiledProduct.id).desc()).limit(LISTED)))


@router.get("/filings")
def filings(request: Request, session: DbSession, signed: User, status: str = "") -> Response:
    """The enterprise's products, or the filings submitted in the official's jurisdiction."""
    principal = _reader(signed)
    rows = _rows(session, principal, status)
    return render(
        request,
        "filings.html",
        products=rows,
        names=_names(session, {p.org_id for p in rows}),
        statuses=list(FilingStatus),
        chosen=status,
        can_create=principal.role is Role.ENTERPRISE,
    )


@router.get("/filings/export.csv")
def export(request: Request, session: DbSession, signed: User, status: str = "") -> Response:
    """The same list as formula-safe CSV."""
    rows = _rows(session, _reader(signed), status)
    return Response(
        filings_csv(session, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="filings.csv"'},
    )


@router.get("/filings/new")
def new_form(request: Request, signed: User) -> Response:
    """The form to register a product."""
    require_role(signed, Role.ENTERPRISE)
    return render(request, "filing_form.html", values={}, errors=[])


@router.post("/filings/new")
def create(
    request: Request,
    session: DbSession,
    signed: FormUser,
    name: Annotated[str, Form(max_length=200)],
    category: Annotated[str, Form(max_length=100)],
    industry_code: Short,
    annual_output_yuan: Short,
) -> Response:
    """Register the product as a draft; bad fields re-show the form naming them."""
    principal = require_role(signed, Role.ENTERPRISE)
    values = {"name": name, "category": category, "industry_code": industry_code,
              "annual_output_yuan": annual_output_yuan}  # fmt: skip
    try:
        output = optional_int(annual_output_yuan, "annual_output_yuan", high=YUAN_MAX)
        if output is None:
            raise invalid("annual_output_yuan", "required")
        body = _model(
            ProductCreate,
            name=name,
            category=category,
            industry_code=industry_code,
            annual_output_yuan=output,
        )
        product = service.create_product(session, principal, body, _classes(request))
    except ValidationFailed as failed:
        errors = failed.extra.get("errors", [])
        return render(request, "filing_form.html", status=422, values=values, errors=errors)
    session.commit()
    return redirect(f"/filings/{product.id}")


def _model(model: type[ModelT], **fields: object) -> ModelT:
    """The request model, or a 422 naming each bad field (as the API would)."""
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        errors = [{"field": str(e["loc"][0]), "message": e["msg"]} for e in error.errors()]
        raise ValidationFailed(f"invalid {model.__name__}", errors=errors) from None


@router.get("/filings/{product_id}")
def detail(request: Request, product_id: int, session: DbSession, signed: User) -> Response:
    """A filing: the product, its cited patents, the actions open to the caller, the history."""
    principal = _reader(signed)
    product = visible_product(session, principal, product_id)
    events = select(FilingEvent).where(FilingEvent.product_id == product_id)
    return render(
        request,
        "filing.html",
        product=product,
        owner=_names(session, {product.org_id}).get(product.org_id, ""),
        links=service.links_of(session, product_id),
        history=list(session.exec(events.order_by(col(FilingEvent.id)))),
        bases=list(RightBasis),
        editable=principal.role is Role.ENTERPRISE and product.status in EDITABLE,
        reviewable=principal.role is Role.GOVERNMENT and product.status is FilingStatus.SUBMITTED,
    )


@router.post("/filings/{product_id}/patents")
def link(
    product_id: int,
    session: DbSession,
    signed: FormUser,
    patent_id: Short,
    basis: Short,
) -> Response:
    """Cite a patent; a right that does not hold is an error page with the reason."""
    principal = require_role(signed, Role.ENTERPRISE)
    number = optional_int(patent_id, "patent_id", low=1, high=2**31 - 1)
    if number is None:
        raise invalid("patent_id", "required")
    body = _model(PatentLinkIn, patent_id=number, basis=enum_value(RightBasis, basis, "basis"))
    service.link_patent(session, principal, product_id, body, today_utc())
    session.commit()
    return redirect(f"/filings/{product_id}")


@router.post("/filings/{product_id}/patents/{patent_id}/remove")
def unlink(product_id: int, patent_id: int, session: DbSession, signed: FormUser) -> Response:
    """Stop citing a patent."""
    service.unlink_patent(session, require_role(signed, Role.ENTERPRISE), product_id, patent_id)
    session.commit()
    return redirect(f"/filings/{product_id}")


@router.post("/filings/{product_id}/submit")
def submit(product_id: int, session: DbSession, signed: FormUser) -> Response:
    """Submit for review (every cited right checked again)."""
    principal = require_role(signed, Role.ENTERPRISE)
    service.submit(session, principal, product_id, today_utc(), utcnow())
    session.commit()
    return redirect(f"/filings/{product_id}")


@router.post("/filings/{product_id}/review")
def review(
    product_id: int,
    session: DbSession,
    signed: FormUser,
    decision: Short,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Approve, or return with the reasons (officials of the jurisdiction)."""
    principal = require_role(signed, Role.GOVERNMENT)
    body = _model(
        ReviewIn, decision=enum_value(Decision, decision, "decision"), reason=reason or None
    )
    service.review(session, principal, product_id, body, today_utc(), utcnow())
    session.commit()
    return redirect(f"/filings/{product_id}")
