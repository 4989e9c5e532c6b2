"""Matching schemas: filters, explanations and ranked results (供需匹配)."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.catalog.enums import (
    ConversionStatus,
    LegalStatus,
    NeedStatus,
    OrgKind,
    PatentType,
)
from app.types import Int, Line, Text, UniqueList

# An invention patent runs 20 years, plus at most 5 of term compensation (专利权期限补偿).
MAX_TERM_YEARS = 25


class MatchFiltersIn(BaseModel):
    """Restrictions on matched patents; by default lapsed/expired/withdrawn/invalid are hidden."""

    legal_status: UniqueList[LegalStatus] | None = None
    patent_type: UniqueList[PatentType] | None = None
    ipc_prefix: Line | None = Field(default=None, max_length=20, examples=["H01M"])
    region_prefix: Line | None = Field(
        max_length=12,
        default=None,
        description="GB/T 2260 prefix of the owner's region",
        examples=["33"],
    )
    owner_kind: UniqueList[OrgKind] | None = None
    min_remaining_years: float | None = Field(default=None, ge=0, le=MAX_TERM_YEARS)
    open_licence_only: bool = Field(default=False, description="Only 开放许可 patents")


class TextMatchRequest(BaseModel):
    """Free text (e.g. a need described in a sentence) to match against patents."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "提升高镍三元正极材料的高温循环稳定性",
                    "k": 10,
                    "filters": {"legal_status": ["granted"], "ipc_prefix": "H01M"},
                }
            ]
        }
    )

    text: Text = Field(min_length=1, max_length=5000)
    k: Int = Field(default=10, ge=1, le=50)
    filters: MatchFiltersIn = Field(default_factory=MatchFiltersIn)


class ExplanationOut(BaseModel):
    """Why an item matched: shared terms and IPC codes, and its rank in each retriever."""

    matched_terms: list[str]
    shared_ipc: list[str]
    inferred_ipc: list[str]
    dense_rank: int | None
    lexical_rank: int | None


class PatentBrief(BaseModel):
    """The patent behind a match."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    application_number: str | None
    title: str
    patent_type: PatentType | None
    ipc_main: str | None
    legal_status: LegalStatus
    conversion_status: ConversionStatus
    expiry_date: date | None
    owner_org_id: int | None


class NeedBrief(BaseModel):
    """The technology need behind a match."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    org_id: int
    title: str
    region: str | None
    industry_code: str | None
    status: NeedStatus


class PatentMatchOut(BaseModel):
    """One matched patent."""

    id: int
    score: float
    confidence: float = Field(description="Calibrated probability-like confidence, 0–1")
    explanation: ExplanationOut
    patent: PatentBrief


class NeedMatchOut(BaseModel):
    """One matched need."""

    id: int
    score: float
    confidence: float
    explanation: ExplanationOut
    need: NeedBrief


_MATCHES_EXAMPLE: JsonDict = {
    "matches": [{
        "id": 211, "score": 0.569, "confidence": 0.631,
        "explanation": {
            "matched_terms": ["电池", "镍", "正极", "材料", "循环"], "shared_ipc": ["H01M"],
            "inferred_ipc": ["H01M"], "dense_rank": 1, "lexical_rank": 1,
        },
        "patent": {
            "id": 211, "application_number": "201410270596.7",
            "title": "一种锂离子电池高镍正极材料及其制备方法", "patent_type": "invention",
            "ipc_main": "H01M 4/36", "legal_status": "granted", "conversion_status": "idle",
            "expiry_date": "2034-06-17", "owner_org_id": 1,
        },
    }],
    "no_good_match": False,
}  # fmt: skip


class PatentMatches(BaseModel):
    """Patents ranked for a query; ``no_good_match`` when even the best is weak."""

    model_config = ConfigDict(json_schema_extra={"examples": [_MATCHES_EXAMPLE]})

    matches: list[PatentMatchOut]
    no_good_match: bool


class NeedMatches(BaseModel):
    """Needs ranked for a patent or portfolio."""

    matches: list[NeedMatchOut]
    no_good_match: bool
