"""Catalog tables: organisations, patents, technology needs, and the index change log."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.catalog.enums import (
    ChangeOp,
    ConversionStatus,
    EntityKind,
    LegalStatus,
    NeedStatus,
    OrgKind,
    PatentType,
)
from app.types import utcnow


def enum_type(enum: type[StrEnum]) -> sa.Enum:
    """A portable VARCHAR enum column type storing the member values."""
    return sa.Enum(
        enum,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def json_list() -> Any:
    """A JSON column holding a list of strings."""
    return sa.JSON()


class Organisation(SQLModel, table=True):
    """A university, institute, enterprise, service station or government office."""

    id: int | None = Field(default=None, primary_key=True)
    kind: OrgKind = Field(sa_type=enum_type(OrgKind))
    name: str = Field(max_length=200, index=True)
    # 统一社会信用代码 (GB 32100-2015), validated when given.
    uscc: str | None = Field(default=None, max_length=18, unique=True)
    # GB/T 2260 six-digit administrative division code.
    region: str | None = Field(default=None, max_length=6, index=True)
    # Private contact fields: only released through the deal workflow.
    contact_person: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=40)
    contact_email: str | None = Field(default=None, max_length=200)
    # Service stations declare what they cover (region prefixes, GB/T 4754 codes).
    coverage_regions: list[str] = Field(default_factory=list, sa_type=json_list())
    coverage_industries: list[str] = Field(default_factory=list, sa_type=json_list())
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class Patent(SQLModel, table=True):
    """A patent or application on the supply side."""

    id: int | None = Field(default=None, primary_key=True)
    # Idempotency key for imports: the normalised application number when known,
    # else ``pub:<publication number>`` or ``src:<source id>``.
    natural_key: str = Field(max_length=80, unique=True)
    application_number: str | None = Field(default=None, max_length=20, unique=True)
    publication_number: str | None = Field(default=None, max_length=40, index=True)
    grant_number: str | None = Field(default=None, max_length=40)
    patent_type: PatentType | None = Field(default=None, sa_type=enum_type(PatentType))
    title: str = Field(max_length=500)
    abstract: str | None = Field(default=None, sa_type=sa.Text())
    first_claim: str | None = Field(default=None, sa_type=sa.Text())
    # Normalised IPC codes, main classification first (e.g. "H01M 4/36").
    ipc_codes: list[str] = Field(default_factory=list, sa_type=json_list())
    ipc_main: str | None = Field(default=None, max_length=20, index=True)
    applicants: list[str] = Field(default_factory=list, sa_type=json_list())
    patentees: list[str] = Field(default_factory=list, sa_type=json_list())
    inventors: list[str] = Field(default_factory=list, sa_type=json_list())
    filing_date: date | None = None
    publication_date: date | None = None
    grant_date: date | None = None
    expiry_date: date | None = None
    legal_status: LegalStatus = Field(
        default=LegalStatus.PENDING, sa_type=enum_type(LegalStatus), index=True
    )
    conversion_status: ConversionStatus = Field(
        default=ConversionStatus.IDLE, sa_type=enum_type(ConversionStatus), index=True
    )
    owner_org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    # BCP 47 script tag of the original text: zh-Hans, zh-Hant or en.
    language: str = Field(default="zh-Hans", max_length=10)
    source: str | None = Field(default=None, max_length=100)
    # Hash of the imported content, so a re-import can tell "unchanged" from "updated".
    content_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class TechNeed(SQLModel, table=True):
    """A technology need (技术需求) posted by an enterprise."""

    __table_args__ = (sa.UniqueConstraint("org_id", "external_ref"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    # The poster's own reference, used as the import idempotency key within the organisation.
    external_ref: str | None = Field(default=None, max_length=100)
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_type=sa.Text())
    # GB/T 4754-2017 industry code (optional).
    industry_code: str | None = Field(default=None, max_length=5, index=True)
    region: str | None = Field(default=None, max_length=6, index=True)
    cooperation_modes: list[str] = Field(default_factory=list, sa_type=json_list())
    budget_min: int | None = Field(default=None, description="yuan")
    budget_max: int | None = Field(default=None, description="yuan")
    deadline: date | None = None
    status: NeedStatus = Field(default=NeedStatus.DRAFT, sa_type=enum_type(NeedStatus), index=True)
    # Marks demo needs written by the project rather than posted by a real enterprise.
    illustrative: bool = False
    content_hash: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    published_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class IndexChange(SQLModel, table=True):
    """Append-only log of catalog writes; the search index replays it to stay in sync."""

    __tablename__ = "index_change"

    id: int | None = Field(default=None, primary_key=True)
    entity: EntityKind = Field(sa_type=enum_type(EntityKind))
    entity_id: int = Field(index=True)
    op: ChangeOp = Field(sa_type=enum_type(ChangeOp))
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
