"""Request and response shapes of the deal workflow."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from app.deals.models import ContractType, aware
from app.deals.states import DealAction, DealState, DeclineReason
from app.types import YUAN_MAX, DbId, Int, Line, Text

# SQLite hands back naive datetimes; every timestamp leaves the API in UTC with its offset.
UtcDatetime = Annotated[datetime, AfterValidator(aware)]

_ID_DESCRIPTION = (
    "Client-supplied id of this request; a retry with the same id returns the first result "
    "(the Idempotency-Key header does the same)."
)


class DealCreate(BaseModel):
    """A contact request (对接申请): for a patent, or directly to a tto."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"need_id": 7, "patent_id": 42, "message": "希望洽谈许可"}]
        },
    )

    need_id: DbId | None = Field(default=None, description="The requester's need, if any")
    patent_id: DbId | None = Field(default=None, description="The patent asked about")
    owner_org_id: DbId | None = Field(
        default=None, description="The tto to contact when no patent is named"
    )
    requester_org_id: DbId | None = Field(default=None, description="Admins only")
    message: Text | None = Field(default=None, max_length=2000)
    transition_id: Line | None = Field(default=None, max_length=100, description=_ID_DESCRIPTION)


class ContractIn(BaseModel):
    """The contract signed at the end of a deal."""

    model_config = ConfigDict(extra="forbid")

    contract_type: ContractType
    amount_yuan: Int | None = Field(
        default=None, ge=0, le=YUAN_MAX, description="Contract value in yuan"
    )
    registration_number: Line | None = Field(
        default=None, max_length=40, description="技术合同登记号, when registered"
    )
    signed_on: date | None = Field(default=None, description="Defaults to today")
    licence_end: date | None = Field(
        default=None, description="Licences: last day; defaults to the patent's expiry date"
    )


class TransitionRequest(BaseModel):
    """One step of a deal; the fields needed depend on the action."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "contact_owner", "note": "电话联系了技术转移中心"},
                {"action": "decline", "reason": "already_solved", "reason_text": "已自主研发"},
            ]
        },
    )

    action: DealAction
    note: Text | None = Field(default=None, max_length=2000)
    station_org_id: DbId | None = Field(default=None, description="assign: the station")
    handler_key_id: DbId | None = Field(
        default=None, description="hand_over: the actor key of the station's specialist"
    )
    reason: DeclineReason | None = Field(default=None, description="decline: why")
    reason_text: Text | None = Field(default=None, max_length=2000)
    contract: ContractIn | None = Field(default=None, description="sign: the contract")
    transition_id: Line | None = Field(default=None, max_length=100, description=_ID_DESCRIPTION)


class EventOut(BaseModel):
    """One entry of a deal's event log."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    action: DealAction
    from_state: DealState | None
    to_state: DealState
    actor_key_id: int | None
    actor_org_id: int | None
    actor_role: str
    note: str | None
    detail: dict[str, Any]
    created_at: UtcDatetime


class ContractOut(BaseModel):
    """A signed contract."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    contract_type: ContractType
    amount_yuan: int | None
    registration_number: str | None
    signed_on: date
    licence_end: date | None
    patent_licence_id: int | None


_DEAL_EXAMPLE: JsonDict = {
    "id": 1, "need_id": 2, "patent_id": 213, "requester_org_id": 2, "owner_org_id": 1,
    "station_org_id": 5, "handler_key_id": 9, "state": "assigned", "region": "330110",
    "industry_code": "C3841",
    "message": "希望洽谈许可", "consent_at": None, "decline_reason": None,
    "decline_text": None, "created_at": "2026-11-25T09:25:03Z",
    "updated_at": "2026-11-25T09:25:03Z",
    "allowed_next": ["owner_contacted", "declined", "withdrawn"],
}  # fmt: skip


class DealOut(BaseModel):
    """A deal without anyone's private contacts."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_DEAL_EXAMPLE]})

    id: int
    need_id: int | None
    patent_id: int | None
    requester_org_id: int
    owner_org_id: int
    station_org_id: int | None
    handler_key_id: int | None = None
    state: DealState
    region: str | None
    industry_code: str | None
    message: str | None
    consent_at: UtcDatetime | None
    decline_reason: DeclineReason | None
    decline_text: str | None
    created_at: UtcDatetime
    updated_at: UtcDatetime
    allowed_next: list[DealState] = Field(default_factory=list)


class DealDetail(DealOut):
    """A deal with its event log and contract."""

    events: list[EventOut]
    contract: ContractOut | None


class TransitionOut(BaseModel):
    """The deal after a step, the event recorded, and whether this was a replayed retry."""

    deal: DealOut
    event: EventOut
    replayed: bool


class OrgContact(BaseModel):
    """The private contact fields of one side, released after consent."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    contact_person: str | None
    contact_phone: str | None
    contact_email: str | None


class DealContacts(BaseModel):
    """Both sides' contacts, and the station's."""

    deal_id: int
    requester: OrgContact
    owner: OrgContact
    station: OrgContact | None


class DeclineCount(BaseModel):
    """Declines of one patent or tto, by reason."""

    key: int
    total: int
    by_reason: dict[str, int]
