"""A patent row for the product-filing tests: in force until 2040 unless its status says not."""

from datetime import date
from itertools import count

from sqlmodel import Session

from app.catalog.enums import LegalStatus
from app.catalog.models import Patent

_keys = count(1)


def add_patent(
    session: Session,
    owner: int | None,
    status: LegalStatus = LegalStatus.GRANTED,
    title: str = "一种高镍三元正极材料",
) -> int:
    """Add (flush) a patent of ``owner`` and return its id."""
    patent = Patent(
        natural_key=f"filing-test-{next(_keys)}-{title}",
        title=title,
        legal_status=status,
        expiry_date=date(2040, 1, 1),
        owner_org_id=owner,
    )
    session.add(patent)
    session.flush()
    assert patent.id is not None
    return patent.id
