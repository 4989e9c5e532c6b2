"""Turn API input into Patent rows with the catalog's domain rules (申请号, IPC, term, script)."""

from datetime import date
from typing import Any

from app.catalog.appno import parse_application_number
from app.catalog.enums import ConversionStatus, PatentType
from app.catalog.ipc import InvalidIpcCode, split_ipc_list
from app.catalog.models import Patent
from app.catalog.schemas.patents import PatentCreate
from app.catalog.terms import compute_expiry
from app.catalog.text import detect_script
from app.errors import Conflict, ValidationFailed
from app.types import utcnow

# The Patent Law of the PRC took effect on this day; no CN application is older.
PATENT_LAW_START = date(1985, 4, 1)


def normalise_ipc_codes(codes: list[str]) -> list[str]:
    """Normalised, de-duplicated IPC codes in the given order (main first); 422 on a bad one."""
    result: list[str] = []
    errors = []
    for position, raw in enumerate(codes):
        try:
            parsed = split_ipc_list(raw)
        except InvalidIpcCode as exc:
            errors.append({"field": f"ipc_codes.{position}", "message": str(exc)})
            continue
        if not parsed:
            errors.append({"field": f"ipc_codes.{position}", "message": f"{raw!r} is empty"})
        result.extend(code for code in parsed if code not in result)
    if errors:
        raise ValidationFailed("invalid IPC codes", errors=errors)
    return result


def check_conversion_status(
    status: ConversionStatus | None, current: ConversionStatus | None = None
) -> None:
    """开放许可 is declared and withdrawn through the licensing workflow, never set directly."""
    if status is None or status is current:
        return  # unchanged: a client may send back the record it read
    if current is ConversionStatus.OPEN_LICENCE:
        raise Conflict(
            "the patent has an active open-licence declaration (开放许可); withdraw the "
            "declaration to change its conversion status"
        )
    if status is ConversionStatus.OPEN_LICENCE:
        raise ValidationFailed(
            "open licence status is set by an open licence declaration",
            errors=[
                {
                    "field": "conversion_status",
                    "message": "use the open licensing (开放许可) endpoints to declare one",
                }
            ],
        )


def parse_appno(raw: str) -> tuple[str, PatentType | None]:
    """The normalised application number and the patent type it encodes; 422 if invalid."""
    parsed = parse_application_number(raw)  # InvalidApplicationNumber names the field
    return parsed.normalised, parsed.patent_type


def check_dates(patent: Patent, today: date | None = None) -> None:
    """422 for dates no Chinese patent can have: before the Patent Law, future, out of order."""
    today = today or date.today()
    errors = []
    filed = patent.filing_date
    if filed is not None and not PATENT_LAW_START <= filed <= today:
        message = f"must be between {PATENT_LAW_START} (the Patent Law) and today"
        errors.append({"field": "filing_date", "message": message})
    for name in ("publication_date", "grant_date"):
        value: date | None = getattr(patent, name)
        if value is not None and filed is not None and value < filed:
            errors.append({"field": name, "message": f"{value} is before the filing date {filed}"})
    if errors:
        raise ValidationFailed("implausible patent dates", errors=errors)


def derive(patent: Patent) -> None:
    """Recompute the derived fields: main IPC, expiry, language and update time."""
    patent.ipc_main = patent.ipc_codes[0] if patent.ipc_codes else None
    patent.expiry_date = compute_expiry(patent.patent_type, patent.filing_date)
    patent.language = detect_script(" ".join(filter(None, [patent.title, patent.abstract])))
    patent.updated_at = utcnow()


def new_patent(body: PatentCreate, owner_org_id: int) -> Patent:
    """A Patent row from a validated create request."""
    check_conversion_status(body.conversion_status)
    appno, patent_type = parse_appno(body.application_number)
    fields: dict[str, Any] = body.model_dump(exclude={"application_number", "owner_org_id"})
    for name in ("applicants", "patentees", "inventors"):
        fields[name] = fields[name] or []
    fields["ipc_codes"] = normalise_ipc_codes(body.ipc_codes)
    fields["source"] = body.source or "api"
    patent = Patent(
        **fields,
        natural_key=appno,
        application_number=appno,
        patent_type=patent_type,
        owner_org_id=owner_org_id,
    )
    check_dates(patent)
    derive(patent)
    return patent


def apply_update(patent: Patent, changes: dict[str, Any], *, declared: bool = False) -> None:
    """Apply the fields of an update request, re-validating and re-deriving.

    ``declared``: the patent has an active open-licence declaration, whatever its status says.
    """
    current = ConversionStatus.OPEN_LICENCE if declared else patent.conversion_status
    check_conversion_status(changes.get("conversion_status"), current)
    if "ipc_codes" in changes:
        changes["ipc_codes"] = normalise_ipc_codes(changes["ipc_codes"] or [])
    for name in ("applicants", "patentees", "inventors"):
        if name in changes and changes[name] is None:
            changes[name] = []
    for name in ("title", "legal_status", "conversion_status"):
        if name in changes and changes[name] is None:
            raise ValidationFailed(
                f"{name} cannot be null", errors=[{"field": name, "message": "may not be null"}]
            )
    for name, value in changes.items():
        setattr(patent, name, value)
    check_dates(patent)
    derive(patent)
