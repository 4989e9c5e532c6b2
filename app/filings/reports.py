"""Filing figures and the filing list export.

``approved_filings`` gives the facts the key figures (``app.deals.figures``) group: one per
approved product, with the enterprise, region, industry class, approval time, output value and
the cited patents — the patents are what a chain grouping (``app.chains``) would tag.
"""

import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.catalog.models import Organisation
from app.csv_safe import SafeCsvWriter
from app.db import persisted_id
from app.filings.models import FiledPatent, FiledProduct, FilingStatus
from app.types import assume_utc


@dataclass(frozen=True)
class FiledFact:
    """One approved product, as the figures count it."""

    product_id: int
    org_id: int
    region: str | None
    industry_code: str
    approved_at: datetime | None
    output_yuan: int
    patent_ids: frozenset[int]


def approved_filings(session: Session) -> list[FiledFact]:
    """Every approved product with its cited patents, by product id."""
    cited: dict[int, set[int]] = defaultdict(set)
    links = select(FiledPatent.product_id, FiledPatent.patent_id).join(
        FiledProduct, col(FiledProduct.id) == col(FiledPatent.product_id)
    )
    approved = FiledProduct.status == FilingStatus.APPROVED
    for product_id, patent_id in session.exec(links.where(approved)):
        cited[product_id].add(patent_id)
    products = session.exec(select(FiledProduct).where(approved).order_by(col(FiledProduct.id)))
    return [
        FiledFact(
            product_id=persisted_id(p),
            org_id=p.org_id,
            region=p.region,
            industry_code=p.industry_code,
            approved_at=p.reviewed_at,
            output_yuan=p.annual_output_yuan,
            patent_ids=frozenset(cited[persisted_id(p)]),
        )
        for p in products
    ]


_COLUMNS = [
    "id", "enterprise", "region", "name", "category", "industry_code", "annual_output_yuan",
    "patents", "status", "submitted_at", "reviewed_at", "review_note",
]  # fmt: skip


def _stamp(moment: datetime | None) -> str:
    # SQLite hands back naive UTC values: say UTC in the export either way.
    return assume_utc(moment).isoformat(timespec="seconds") if moment else ""


def filings_csv(session: Session, products: list[FiledProduct]) -> str:
    """The filing list as formula-safe CSV: one row per product, cited patent ids joined by ;."""
    ids = [p.id for p in products]
    org_ids = {p.org_id for p in products}
    names = dict(
        session.exec(
            select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(org_ids))
        ).all()
    )
    cited: dict[int, list[int]] = defaultdict(list)
    links = select(FiledPatent.product_id, FiledPatent.patent_id).where(
        col(FiledPatent.product_id).in_(ids)
    )
    for product_id, patent_id in session.exec(links.order_by(col(FiledPatent.patent_id))):
        cited[product_id].append(patent_id)
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for p in products:
        patents = ";".join(str(i) for i in cited[persisted_id(p)])
        writer.writerow([
            p.id, names.get(p.org_id, ""), p.region or "", p.name, p.category, p.industry_code,
            p.annual_output_yuan, patents, p.status.value, _stamp(p.submitted_at),
            _stamp(p.reviewed_at), p.review_note or "",
        ])  # fmt: skip
    return buffer.getvalue()
