"""Request and response shapes of product filing."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.filings.models import FilingAction, FilingStatus, RightBasis
from app.types import YUAN_MAX, DbId, Int, Line, Name, Text, UtcDatetime

_PRODUCT_EXAMPLE: JsonDict = {
    "name": "高镍三元锂电池正极材料 NCM811",
    "category": "锂离子电池材料",
    "industry_code": "C3841",
    "annual_output_yuan": 120000000,
}


class ProductCreate(BaseModel):
    """A product an enterprise registers for filing (admins name the enterprise)."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"examples": [_PRODUCT_EXAMPLE]},
    )

    name: Name
    category: Line = Field(min_length=1, max_length=100, description="产品类别")
    industry_code: Line = Field(max_length=10, description="GB/T 4754-2017 class, e.g. C3841")
    annual_output_yuan: Int = Field(ge=0, le=YUAN_MAX, description="年产值, whole yuan")
    org_id: DbId | None = Field(default=None, description="Admins only: the enterprise")


class ProductUpdate(BaseModel):
    """Fields to change while the product is a draft or returned; omitted fields stay."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name | None = None
    category: Line | None = Field(default=None, min_length=1, max_length=100)
    industry_code: Line | None = Field(default=None, max_length=10)
    annual_output_yuan: Int | None = Field(default=None, ge=0, le=YUAN_MAX)


class PatentLinkIn(BaseModel):
    """A patent the product uses and the basis of the enterprise's right to it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"patent_id": 42, "basis": "exclusive_licence"}]},
    )

    patent_id: DbId
    basis: RightBasis


class Decision(StrEnum):
    """An official's review decision."""

    APPROVE = "approve"
    RETURN = "return"


class ReviewIn(BaseModel):
    """A review: approve, or return with the reasons (required then)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "return", "reason": "请补充许可合同"}]},
    )

    decision: Decision
    reason: Text | None = Field(default=None, max_length=2000)


class LinkedPatentOut(BaseModel):
    """A cited patent with its basis and evidence."""

    model_config = ConfigDict(from_attributes=True)

    patent_id: int
    title: str
    legal_status: str
    basis: RightBasis
    licence_id: int | None
    contract_id: int | None


class FilingEventOut(BaseModel):
    """One step of the history."""

    model_config = ConfigDict(from_attributes=True)

    action: FilingAction
    from_status: FilingStatus | None
    to_status: FilingStatus
    actor_org_id: int | None
    actor_role: str
    note: str | None
    detail: dict[str, Any]
    created_at: UtcDatetime


class ProductOut(BaseModel):
    """A product and its filing state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    name: str
    category: str
    industry_code: str
    annual_output_yuan: int
    region: str | None
    status: FilingStatus
    submitted_at: UtcDatetime | None
    reviewed_at: UtcDatetime | None
    reviewer_org_id: int | None
    review_note: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ProductDetail(ProductOut):
    """A product with its patents and its history."""

    patents: list[LinkedPatentOut] = Field(default_factory=list)
    history: list[FilingEventOut] = Field(default_factory=list)
