"""Technology need schemas (技术需求): create, update and the view."""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.catalog.enums import CooperationMode, NeedStatus
from app.types import INT32_MAX, MAX_TEXT, DbId, Int, Line, Text, UniqueList, UtcDatetime

_EXAMPLE: JsonDict = {
    "title": "动力电池高镍正极材料循环寿命提升",
    "description": "我公司生产三元锂电池，需提升高镍正极在高温下的循环稳定性……",
    "industry_code": "3841",
    "region": "330100",
    "cooperation_modes": ["licence", "joint_development"],
    "budget_min": 500000,
    "budget_max": 2000000,
}


class NeedFields(BaseModel):
    """Optional descriptive fields shared by create and update."""

    description: Text | None = Field(default=None, max_length=MAX_TEXT)
    industry_code: Line | None = Field(
        default=None, max_length=5, description="GB/T 4754-2017 国民经济行业分类 code"
    )
    region: Line | None = Field(default=None, max_length=6, description="GB/T 2260 code")
    cooperation_modes: UniqueList[CooperationMode] | None = Field(
        default=None, description="合作方式: transfer 转让, licence 许可, open_licence 开放许可 …"
    )
    budget_min: Int | None = Field(default=None, ge=0, le=INT32_MAX, description="yuan")
    budget_max: Int | None = Field(default=None, ge=0, le=INT32_MAX, description="yuan")
    deadline: date | None = None
    external_ref: Line | None = Field(default=None, max_length=100)


class NeedCreate(NeedFields):
    """A new need; it starts as a draft, visible only to its enterprise until published."""

    model_config = ConfigDict(str_strip_whitespace=True, json_schema_extra={"examples": [_EXAMPLE]})

    title: Line = Field(min_length=1, max_length=300)
    org_id: DbId | None = Field(default=None, description="Admins only; enterprises post their own")


class NeedUpdate(NeedFields):
    """Fields to change; omitted fields stay."""

    model_config = ConfigDict(
        str_strip_whitespace=True, json_schema_extra={"examples": [{"budget_max": 3000000}]}
    )

    title: Line | None = Field(default=None, min_length=1, max_length=300)


_OUT_EXAMPLE: JsonDict = {
    **_EXAMPLE, "id": 2, "org_id": 2, "external_ref": None, "industry_code": "C3841",
    "region": "330110", "deadline": None, "status": "published", "illustrative": False,
    "created_at": "2026-11-25T09:24:10Z", "updated_at": "2026-11-25T09:24:17Z",
    "published_at": "2026-11-25T09:24:17Z",
}  # fmt: skip


class NeedOut(BaseModel):
    """A technology need as the API shows it."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_OUT_EXAMPLE]})

    id: int
    org_id: int
    external_ref: str | None
    title: str
    description: str
    industry_code: str | None
    region: str | None
    cooperation_modes: list[str]
    budget_min: Int | None
    budget_max: Int | None
    deadline: date | None
    status: NeedStatus
    illustrative: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime
    published_at: UtcDatetime | None
