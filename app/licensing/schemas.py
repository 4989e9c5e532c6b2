"""Request and response models of the open-licence API."""

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.catalog.models import Patent
from app.db import persisted_id
from app.licensing.models import (
    DeclarationStatus,
    LicenceKind,
    OpenLicenceDeclaration,
    PatentLicence,
    PaymentMode,
)
from app.licensing.rules import bp_to_percent
from app.types import YUAN_MAX, Int, Line, Text, UtcDatetime


class DeclarationCreate(BaseModel):
    """An open-licence declaration (开放许可声明); limits are checked by the statutory rules."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "payment_mode": "sales_royalty",
                    "royalty_rate_percent": "3.5",
                    "term_years": 5,
                    "contact_name": "王老师",
                    "contact_phone": "0571-87951111",
                },
                {
                    "payment_mode": "lump_sum",
                    "fee_yuan": 200000,
                    "term_years": 3,
                    "contact_name": "技术转移中心",
                    "contact_email": "tto@example.edu.cn",
                },
            ]
        },
    )

    payment_mode: PaymentMode
    fee_yuan: Int | None = Field(
        default=None,
        ge=-YUAN_MAX,
        le=YUAN_MAX,
        description="lump sum or entry fee (入门费), yuan",
    )
    royalty_rate_percent: Decimal | None = Field(
        default=None,
        ge=-1000,
        le=1000,
        description="% of net sales (按销售额) or of profit (按利润)",
    )
    term_years: Int = Field(
        ge=-100, le=100, description="licence term in years (≥ 1, within the patent's term)"
    )
    contact_name: Line = Field(
        min_length=1, max_length=100, description="contact for notices; public by law"
    )
    contact_phone: Line | None = Field(default=None, max_length=40)
    contact_email: Line | None = Field(default=None, max_length=200)
    other_terms: Text | None = Field(default=None, max_length=4000)


class WithdrawRequest(BaseModel):
    """Withdrawal (撤回) of a declaration; the reason is published."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "拟独占许可给合作企业"}]}
    )

    reason: Text = Field(min_length=1, max_length=2000)


class LicenceNotice(BaseModel):
    """The written notice (书面通知) by which an enterprise takes an open licence."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"intended_use": "用于三元正极材料产线", "start_date": "2026-12-01"}]
        },
    )

    intended_use: Text = Field(min_length=1, max_length=2000)
    start_date: date | None = Field(default=None, description="defaults to today")


_DECLARATION_EXAMPLE: JsonDict = {
    "id": 1, "patent_id": 211, "patent_title": "一种锂离子电池高镍正极材料及其制备方法",
    "application_number": "201410270596.7", "ipc_main": "H01M 4/36",
    "patent_expiry_date": "2034-06-17", "payment_mode": "sales_royalty", "fee_yuan": None,
    "royalty_rate_percent": "3.50", "term_years": 5, "contact_name": "王老师",
    "contact_phone": "0571-87951111", "contact_email": None, "other_terms": None,
    "status": "active", "declared_at": "2026-11-25T09:24:37Z", "withdrawn_at": None,
    "withdrawal_reason": None, "licence_count": 0,
}  # fmt: skip


class DeclarationOut(BaseModel):
    """A declaration as published, with the patent it covers."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DECLARATION_EXAMPLE]})

    id: int
    patent_id: int
    patent_title: str
    application_number: str | None
    ipc_main: str | None
    patent_expiry_date: date | None
    payment_mode: PaymentMode
    fee_yuan: int | None
    royalty_rate_percent: Decimal | None
    term_years: int
    contact_name: str
    contact_phone: str | None
    contact_email: str | None
    other_terms: str | None
    status: DeclarationStatus
    declared_at: UtcDatetime
    withdrawn_at: UtcDatetime | None
    withdrawal_reason: str | None
    licence_count: int


class DeclarationPage(BaseModel):
    """One page of declarations (limit/offset)."""

    items: list[DeclarationOut]
    total: int
    limit: int
    offset: int


_LICENCE_EXAMPLE: JsonDict = {
    "id": 1, "patent_id": 211, "kind": "open", "licensee_org_id": 2,
    "start_date": "2026-11-25", "end_date": "2031-11-25", "payment_mode": "sales_royalty",
    "fee_yuan": None, "royalty_rate_percent": "3.50", "declaration_id": 1,
    "intended_use": "用于三元正极材料产线", "created_at": "2026-11-25T09:24:56Z",
}  # fmt: skip


class LicenceOut(BaseModel):
    """A recorded licence."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LICENCE_EXAMPLE]})

    id: int
    patent_id: int
    kind: LicenceKind
    licensee_org_id: int
    start_date: date
    end_date: date
    payment_mode: PaymentMode | None
    fee_yuan: int | None
    royalty_rate_percent: Decimal | None
    declaration_id: int | None
    intended_use: str | None
    created_at: UtcDatetime


class FeeEstimate(BaseModel):
    """The fee a need's poster should expect; royalty figures are estimates on stated terms."""

    amount_yuan: int | None = Field(description="first-year cost; null when it cannot be estimated")
    is_estimate: bool
    assumption: str | None
    fits_budget: bool | None = Field(description="null when the need gives no budget")


class Candidate(BaseModel):
    """An open-licensed patent that matches a need, with its terms and a fee estimate."""

    declaration: DeclarationOut
    score: float
    confidence: float
    fee: FeeEstimate


class CandidateList(BaseModel):
    """Open-licence candidates for a need."""

    need_id: int
    no_good_match: bool
    candidates: list[Candidate]


class AdviceItem(BaseModel):
    """An idle patent worth declaring, with a transparent score and its reasons."""

    patent_id: int
    title: str
    application_number: str | None
    score: float
    idle_years: float
    remaining_years: float
    matching_needs: int
    best_confidence: float
    need_ids: list[int]
    reasons: list[str]


class AdviceList(BaseModel):
    """Declaration advice for an organisation's technology-transfer office."""

    org_id: int
    min_remaining_years: float
    min_confidence: float
    items: list[AdviceItem]


def declaration_out(declaration: OpenLicenceDeclaration, patent: Patent) -> DeclarationOut:
    """The public view of a declaration."""
    declaration_id = persisted_id(declaration)
    rate = declaration.royalty_rate_bp
    return DeclarationOut(
        id=declaration_id,
        patent_id=declaration.patent_id,
        patent_title=patent.title,
        application_number=patent.application_number,
        ipc_main=patent.ipc_main,
        patent_expiry_date=patent.expiry_date,
        payment_mode=declaration.payment_mode,
        fee_yuan=declaration.fee_yuan,
        royalty_rate_percent=None if rate is None else bp_to_percent(rate),
        term_years=declaration.term_years,
        contact_name=declaration.contact_name,
        contact_phone=declaration.contact_phone,
        contact_email=declaration.contact_email,
        other_terms=declaration.other_terms,
        status=declaration.status,
        declared_at=declaration.declared_at,
        withdrawn_at=declaration.withdrawn_at,
        withdrawal_reason=declaration.withdrawal_reason,
        licence_count=declaration.licence_count,
    )


def licence_out(licence: PatentLicence) -> LicenceOut:
    """The view of a recorded licence."""
    licence_id = persisted_id(licence)
    rate = licence.royalty_rate_bp
    return LicenceOut(
        id=licence_id,
        patent_id=licence.patent_id,
        kind=licence.kind,
        licensee_org_id=licence.licensee_org_id,
        start_date=licence.start_date,
        end_date=licence.end_date,
        payment_mode=licence.payment_mode,
        fee_yuan=licence.fee_yuan,
        royalty_rate_percent=None if rate is None else bp_to_percent(rate),
        declaration_id=licence.declaration_id,
        intended_use=licence.intended_use,
        created_at=licence.created_at,
    )
