"""Patent schemas (供给侧专利): create, update and the public view."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.catalog.enums import ConversionStatus, LegalStatus, PatentType
from app.types import MAX_TEXT, CodeList, DbId, Line, NameList, Text, UtcDatetime

_EXAMPLE: JsonDict = {
    "application_number": "201410270596.7",
    "title": "一种锂离子电池正极材料及其制备方法",
    "abstract": "本发明公开了一种高镍三元正极材料……",
    "ipc_codes": ["H01M 4/36", "H01M 4/505"],
    "applicants": ["浙江大学"],
    "filing_date": "2014-06-17",
    "legal_status": "granted",
}


class PatentFields(BaseModel):
    """Descriptive fields shared by create and update."""

    publication_number: Line | None = Field(default=None, max_length=40)
    grant_number: Line | None = Field(default=None, max_length=40)
    abstract: Text | None = Field(default=None, max_length=MAX_TEXT, description="摘要")
    first_claim: Text | None = Field(
        default=None, max_length=MAX_TEXT, description="主权项 (first claim)"
    )
    applicants: NameList | None = None
    patentees: NameList | None = Field(default=None, description="专利权人")
    inventors: NameList | None = None
    publication_date: date | None = None
    grant_date: date | None = None
    source: Line | None = Field(default=None, max_length=100)


class PatentCreate(PatentFields):
    """A new patent. The type, expiry and language are derived, not sent."""

    model_config = ConfigDict(str_strip_whitespace=True, json_schema_extra={"examples": [_EXAMPLE]})

    application_number: Line = Field(
        max_length=40,
        description="申请号, e.g. 201410270596.7 (ZC 0006-2003; the check character is verified)",
    )
    title: Line = Field(min_length=1, max_length=500)
    ipc_codes: CodeList = Field(
        default_factory=list, description="IPC codes (分类号), main classification first"
    )
    filing_date: date | None = Field(default=None, description="申请日; needed for the expiry")
    legal_status: LegalStatus = LegalStatus.PENDING
    conversion_status: ConversionStatus = ConversionStatus.IDLE
    owner_org_id: DbId | None = Field(
        default=None, description="Owning organisation; admins only, a tto always owns its own"
    )


class PatentUpdate(PatentFields):
    """Fields to change; omitted fields stay. The application number cannot change."""

    model_config = ConfigDict(
        str_strip_whitespace=True, json_schema_extra={"examples": [{"legal_status": "granted"}]}
    )

    title: Line | None = Field(default=None, min_length=1, max_length=500)
    ipc_codes: CodeList | None = None
    filing_date: date | None = None
    legal_status: LegalStatus | None = None
    conversion_status: ConversionStatus | None = None
    owner_org_id: DbId | None = Field(default=None, description="Admins only")


_OUT_EXAMPLE: JsonDict = {
    "id": 211, "application_number": "201410270596.7", "publication_number": None,
    "grant_number": None, "patent_type": "invention",
    "title": "一种锂离子电池高镍正极材料及其制备方法",
    "abstract": "本发明公开了一种高镍三元正极材料……", "first_claim": None,
    "ipc_codes": ["H01M 4/36", "H01M 4/505"], "ipc_main": "H01M 4/36",
    "applicants": ["浙江大学"], "patentees": ["浙江大学"], "inventors": [],
    "filing_date": "2014-06-17", "publication_date": None, "grant_date": None,
    "expiry_date": "2034-06-17", "legal_status": "granted", "conversion_status": "idle",
    "owner_org_id": 1, "language": "zh-Hans", "source": "api",
    "created_at": "2026-11-25T09:22:40Z", "updated_at": "2026-11-25T09:22:40Z",
}  # fmt: skip


class PatentOut(BaseModel):
    """A patent as the API shows it (all patent fields are public bibliographic data)."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_OUT_EXAMPLE]})

    id: int
    application_number: str | None
    publication_number: str | None
    grant_number: str | None
    patent_type: PatentType | None
    title: str
    abstract: str | None
    first_claim: str | None
    ipc_codes: list[str]
    ipc_main: str | None
    applicants: list[str]
    patentees: list[str]
    inventors: list[str]
    filing_date: date | None
    publication_date: date | None
    grant_date: date | None
    expiry_date: date | None
    legal_status: LegalStatus
    conversion_status: ConversionStatus
    owner_org_id: int | None
    language: str
    source: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
