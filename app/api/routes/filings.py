"""/api/v1/filings: patent-intensive product filing (专利密集型产品备案) and its review."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, col, select

from app.api.deps import PrincipalDep, SessionDep
from app.api.schemas.common import Page, problem_responses
from app.api.writes import commit_and_sync
from app.auth.principal import Principal
from app.catalog.industry import IndustryClasses
from app.db import persisted_id
from app.filings import service
from app.filings.access import listing, visible_product
from app.filings.models import FiledProduct, FilingEvent, FilingStatus
from app.filings.reports import filings_csv
from app.filings.schemas import (
    FilingEventOut,
    LinkedPatentOut,
    PatentLinkIn,
    ProductCreate,
    ProductDetail,
    ProductOut,
    ProductUpdate,
    ReviewIn,
)
from app.licensing.service import today_utc
from app.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate_by_id
from app.types import DbId, Line, utcnow

router = APIRouter(prefix="/filings", tags=["filings"])
# Every row fits one export: the filing programmes count products in the hundreds.
EXPORT_LIMIT = 10_000


def _classes(request: Request) -> IndustryClasses | None:
    classes: IndustryClasses | None = getattr(request.app.state, "industry_classes", None)
    return classes


def product_detail(session: Session, principal: Principal, product_id: int) -> ProductDetail:
    """The product with its cited patents and history, if the caller may see it."""
    product = visible_product(session, principal, product_id)
    patents = [
        LinkedPatentOut(
            patent_id=link.patent_id,
            title=patent.title,
            legal_status=patent.legal_status.value,
            basis=link.basis,
            licence_id=link.licence_id,
            contract_id=link.contract_id,
        )
        for link, patent in service.links_of(session, product_id)
    ]
    events = select(FilingEvent).where(FilingEvent.product_id == product_id)
    history = [
        FilingEventOut.model_validate(e) for e in session.exec(events.order_by(col(FilingEvent.id)))
    ]
    base = ProductOut.model_validate(product).model_dump()
    return ProductDetail(**base, patents=patents, history=history)


def _saved(session: Session, principal: Principal, product_id: int) -> ProductDetail:
    """Commit the request's write and answer with the product as it now stands."""
    commit_and_sync(session, None)
    return product_detail(session, principal, product_id)


@router.post(
    "",
    status_code=201,
    response_model=ProductDetail,
    summary="Register a product",
    description="An enterprise registers a product (name, category, GB/T 4754 class, annual "
    "output value) as a draft filing; admins name the enterprise (`org_id`).",
    responses=problem_responses(401, 403, 404, 422),
)
def create_product(
    body: ProductCreate, request: Request, session: SessionDep, principal: PrincipalDep
) -> ProductDetail:
    """Register a product (enterprise, or admin)."""
    product = service.create_product(session, principal, body, _classes(request))
    return _saved(session, principal, persisted_id(product))


@router.patch(
    "/{product_id}",
    response_model=ProductDetail,
    summary="Change a product",
    description="While the filing is a draft or was returned; omitted fields stay.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def update_product(
    product_id: DbId,
    body: ProductUpdate,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
) -> ProductDetail:
    """Change a product (its enterprise, or admin)."""
    service.update_product(session, principal, product_id, body, _classes(request), utcnow())
    return _saved(session, principal, product_id)


@router.post(
    "/{product_id}/patents",
    response_model=ProductDetail,
    summary="Cite a patent",
    description="Link a patent the product uses, with the basis of the enterprise's right "
    "(owned, assignment, exclusive/sole/ordinary licence, open licence). Checked now: the "
    "patent must be in force and the right held (the patentee; a signed assignment; a licence "
    "of that kind to this enterprise that has not ended) — else 422 with the reason.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def link_patent(
    product_id: DbId, body: PatentLinkIn, session: SessionDep, principal: PrincipalDep
) -> ProductDetail:
    """Cite a patent (its enterprise, or admin)."""
    service.link_patent(session, principal, product_id, body, today_utc())
    return _saved(session, principal, product_id)


@router.delete(
    "/{product_id}/patents/{patent_id}",
    response_model=ProductDetail,
    summary="Stop citing a patent",
    responses=problem_responses(401, 403, 404, 409),
)
def unlink_patent(
    product_id: DbId, patent_id: DbId, session: SessionDep, principal: PrincipalDep
) -> ProductDetail:
    """Remove a cited patent (its enterprise, or admin)."""
    service.unlink_patent(session, principal, product_id, patent_id)
    return _saved(session, principal, product_id)


@router.post(
    "/{product_id}/submit",
    response_model=ProductDetail,
    summary="Submit the filing",
    description="Every cited right is checked again (a patent may have lapsed, a licence "
    "ended): 422 naming each one that fails (`patents.<patent id>`).",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def submit(product_id: DbId, session: SessionDep, principal: PrincipalDep) -> ProductDetail:
    """Submit for review (its enterprise, or admin)."""
    service.submit(session, principal, product_id, today_utc(), utcnow())
    return _saved(session, principal, product_id)


@router.post(
    "/{product_id}/review",
    response_model=ProductDetail,
    summary="Review a filing",
    description="An official of the product's jurisdiction approves it (rights checked once "
    "more: 409 if one no longer holds) or returns it with the reasons. Filings of another "
    "jurisdiction are 404.",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def review(
    product_id: DbId, body: ReviewIn, session: SessionDep, principal: PrincipalDep
) -> ProductDetail:
    """Approve or return (government officials)."""
    service.review(session, principal, product_id, body, today_utc(), utcnow())
    return _saved(session, principal, product_id)


@router.get(
    "/{product_id}",
    response_model=ProductDetail,
    summary="Read a filing",
    description="The product, its cited patents and its history. Enterprises read their own, "
    "officials the submitted filings of their jurisdiction, admins all; others 404.",
    responses=problem_responses(401, 403, 404),
)
def read_product(product_id: DbId, session: SessionDep, principal: PrincipalDep) -> ProductDetail:
    """Read one filing."""
    return product_detail(session, principal, product_id)


@router.get(
    "",
    response_model=Page[ProductOut],
    summary="List filings",
    description="Enterprises list their products, officials the submitted filings of their "
    "jurisdiction, admins all; filter by status and region prefix (403 outside the "
    "jurisdiction). `format=csv` exports the whole list (formula-safe).",
    responses={
        **problem_responses(401, 403, 422),
        200: {"content": {"application/json": {}, "text/csv": {}}},
    },
)
def list_products(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[list[FilingStatus] | None, Query()] = None,
    region_prefix: Annotated[Line | None, Query(max_length=12, examples=["3301"])] = None,
    output: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
    cursor: Annotated[Line | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Page[ProductOut] | Response:
    """List the filings the caller may see."""
    stmt = listing(principal, region_prefix)
    if status:
        stmt = stmt.where(col(FiledProduct.status).in_(status))
    if output == "csv":
        rows = list(session.exec(stmt.order_by(col(FiledProduct.id)).limit(EXPORT_LIMIT)))
        return Response(
            filings_csv(session, rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="filings.csv"'},
        )
    items, next_cursor = paginate_by_id(
        session, stmt, col(FiledProduct.id), descending=True, cursor=cursor, limit=limit
    )
    return Page(items=[ProductOut.model_validate(p) for p in items], next_cursor=next_cursor)
