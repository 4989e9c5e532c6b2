"""Organisation schemas: a public view for everyone, a private one with contact fields."""

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.catalog.enums import OrgKind
from app.types import CodeList, Line, UtcDatetime

_EXAMPLE: JsonDict = {
    "kind": "university",
    "name": "浙江大学",
    "uscc": "12100000470095016Q",
    "region": "330106",
    "contact_person": "王老师",
    "contact_phone": "0571-87951111",
    "contact_email": "tto@example.edu.cn",
}


class OrgContact(BaseModel):
    """Private contact fields (联系人): only for the organisation itself and admins."""

    contact_person: Line | None = Field(default=None, max_length=100)
    contact_phone: Line | None = Field(default=None, max_length=40)
    contact_email: Line | None = Field(default=None, max_length=200)


class OrgCreate(OrgContact):
    """A new organisation (admins only)."""

    model_config = ConfigDict(str_strip_whitespace=True, json_schema_extra={"examples": [_EXAMPLE]})

    kind: OrgKind
    name: Line = Field(min_length=1, max_length=200)
    uscc: Line | None = Field(
        default=None, max_length=40, description="统一社会信用代码 (GB 32100-2015)"
    )
    region: Line | None = Field(
        default=None, max_length=20, description="GB/T 2260 six-digit division code"
    )
    coverage_regions: CodeList = Field(default_factory=list)
    coverage_industries: CodeList = Field(default_factory=list)


class OrgUpdate(OrgContact):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"examples": [{"contact_phone": "0571-88888888"}]},
    )

    name: Line | None = Field(default=None, min_length=1, max_length=200)
    uscc: Line | None = Field(default=None, max_length=40)
    region: Line | None = Field(default=None, max_length=20)
    coverage_regions: CodeList | None = None
    coverage_industries: CodeList | None = None


_PUBLIC_EXAMPLE: JsonDict = {
    "id": 1, "kind": "university", "name": "浙江大学", "uscc": "12100000470095016Q",
    "region": "330106", "coverage_regions": [], "coverage_industries": [],
    "created_at": "2026-11-25T09:21:30Z",
}  # fmt: skip


class OrgPublic(BaseModel):
    """What any authenticated caller may see of an organisation."""

    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [_PUBLIC_EXAMPLE]}
    )

    id: int
    kind: OrgKind
    name: str
    uscc: str | None
    region: str | None
    coverage_regions: list[str]
    coverage_industries: list[str]
    created_at: UtcDatetime


class OrgPrivate(OrgPublic):
    """The full record, contact fields included: for the organisation itself and admins."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_PUBLIC_EXAMPLE, **_EXAMPLE, "coverage_regions": []}]}
    )

    contact_person: str | None
    contact_phone: str | None
    contact_email: str | None
