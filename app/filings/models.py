"""Patent-intensive product filing (专利密集型产品备案): products, their patents, the history."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.catalog.models import enum_type
from app.types import utcnow


class FilingStatus(StrEnum):
    """Where a product's filing stands."""

    DRAFT = "draft"  # the enterprise is still editing it
    SUBMITTED = "submitted"  # waiting for the jurisdiction's review
    APPROVED = "approved"  # filed (已备案)
    RETURNED = "returned"  # sent back with reasons; editable, then submitted again


# Statuses in which the enterprise may change the product and its patents.
EDITABLE = frozenset({FilingStatus.DRAFT, FilingStatus.RETURNED})


class RightBasis(StrEnum):
    """The basis of the enterprise's right to a patent it cites (权利依据)."""

    OWNED = "owned"  # 自有: the enterprise is the patentee
    ASSIGNMENT = "assignment"  # 受让: a signed assignment made it the patentee
    EXCLUSIVE_LICENCE = "exclusive_licence"  # 独占许可
    SOLE_LICENCE = "sole_licence"  # 排他许可
    ORDINARY_LICENCE = "ordinary_licence"  # 普通许可
    OPEN_LICENCE = "open_licence"  # 开放许可


class FilingAction(StrEnum):
    """What happened to a filing (its history)."""

    CREATED = "created"
    UPDATED = "updated"
    PATENT_LINKED = "patent_linked"
    PATENT_UNLINKED = "patent_unlinked"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class FiledProduct(SQLModel, table=True):
    """An enterprise's product and the state of its filing."""

    __tablename__ = "filed_product"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=200)
    category: str = Field(max_length=100)
    # GB/T 4754-2017 class (小类 or broader), stored with its section letter: C3841.
    industry_code: str = Field(max_length=5, index=True)
    annual_output_yuan: int = Field(sa_type=sa.BigInteger())
    # The enterprise's GB/T 2260 region when the product was last saved: the reviewing
    # jurisdiction, kept stable while a filing is under review.
    region: str | None = Field(default=None, max_length=6, index=True)
    status: FilingStatus = Field(
        default=FilingStatus.DRAFT, sa_type=enum_type(FilingStatus), index=True
    )
    submitted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    reviewed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    reviewer_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    review_note: str | None = Field(default=None, sa_type=sa.Text())
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class FiledPatent(SQLModel, table=True):
    """A patent a product uses, with the right the enterprise holds to it and its evidence."""

    __tablename__ = "filed_product_patent"
    __table_args__ = (sa.UniqueConstraint("product_id", "patent_id"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="filed_product.id", index=True)
    patent_id: int = Field(foreign_key="patent.id", index=True)
    basis: RightBasis = Field(sa_type=enum_type(RightBasis))
    # The licence (licences) or the signed assignment contract (assignment) that proves it.
    licence_id: int | None = Field(default=None, foreign_key="patent_licence.id")
    contract_id: int | None = Field(default=None, foreign_key="deal_contract.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class FilingEvent(SQLModel, table=True):
    """One step in a product's filing history, never updated or deleted."""

    __tablename__ = "filing_event"

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="filed_product.id", index=True)
    action: FilingAction = Field(sa_type=enum_type(FilingAction))
    from_status: FilingStatus | None = Field(default=None, sa_type=enum_type(FilingStatus))
    to_status: FilingStatus = Field(sa_type=enum_type(FilingStatus))
    actor_key_id: int | None = Field(default=None, foreign_key="api_key.id")
    actor_org_id: int | None = Field(default=None, foreign_key="organisation.id")
    actor_role: str = Field(max_length=16)
    note: str | None = Field(default=None, sa_type=sa.Text())
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON())
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
