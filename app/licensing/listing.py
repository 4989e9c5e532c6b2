"""The public listing of open-licence declarations: filters and cursor pages."""

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from app.catalog.ipc import IpcPrefix
from app.catalog.models import Patent
from app.licensing.models import DeclarationStatus, OpenLicenceDeclaration, PaymentMode
from app.pagination import DEFAULT_LIMIT, paginate_by_id


@dataclass(frozen=True)
class DeclarationQuery:
    """Filters and page of the public declaration listing."""

    ipc_prefix: str | None = None
    payment_mode: PaymentMode | None = None
    status: DeclarationStatus | None = DeclarationStatus.ACTIVE
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def list_declarations(
    session: Session, query: DeclarationQuery
) -> tuple[list[tuple[OpenLicenceDeclaration, Patent]], str | None]:
    """A page of declarations with their patents, newest first, and the next page's cursor."""
    stmt = select(OpenLicenceDeclaration).join(
        Patent, col(Patent.id) == col(OpenLicenceDeclaration.patent_id)
    )
    if query.status is not None:
        stmt = stmt.where(OpenLicenceDeclaration.status == query.status)
    if query.payment_mode is not None:
        stmt = stmt.where(OpenLicenceDeclaration.payment_mode == query.payment_mode)
    if query.ipc_prefix:
        # Stored codes carry a space ("H01M 4/36"); compare without spaces.
        ipc = func.replace(col(Patent.ipc_main), " ", "")
        prefix = IpcPrefix.parse(query.ipc_prefix, field="ipc")  # only [A-Z0-9/]: LIKE-safe
        stmt = stmt.where(ipc.like(prefix.compact + "%"))
    # Ids grow with declaration time, so "newest first" is "highest id first".
    page, next_cursor = paginate_by_id(
        session,
        stmt,
        col(OpenLicenceDeclaration.id),
        descending=True,
        cursor=query.cursor,
        limit=query.limit,
    )
    ids = [d.patent_id for d in page]
    patents = {p.id: p for p in session.exec(select(Patent).where(col(Patent.id).in_(ids)))}
    return [(d, patents[d.patent_id]) for d in page], next_cursor
