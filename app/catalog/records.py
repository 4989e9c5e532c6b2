"""Validate a header-mapped import row into a patent record, collecting every field problem."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import TypeVar

from app.catalog.appno import ApplicationNumber, parse_application_number
from app.catalog.enums import LegalStatus, PatentType
from app.catalog.headers import PatentField as F
from app.catalog.ipc import InvalidIpcCode, IpcScheme, split_ipc_list
from app.catalog.terms import (
    compute_expiry,
    effective_legal_status,
    parse_legal_status,
    parse_patent_type,
)
from app.catalog.text import detect_script
from app.catalog.values import (
    content_hash,
    cpc_as_ipc,
    parse_date,
    plain,
    publication_kind,
    split_combined_text,
    split_multi,
    text_value,
)
from app.errors import InvalidValue

TITLE_MAX = 500
# The shared scheme file lacks some real groups (C23C 14/35): an unknown code is kept, with this.
UNKNOWN_IPC_REASON = "not in the IPC scheme file (kept; the file may be incomplete)"
_PUBLICATION = re.compile(r"[A-Z]{2}\d{5,13}[A-Z]\d?")
_PUBLICATION_IN_LINK = re.compile(r"(?:filename=|/)(CN\d{6,12}[A-Z]\d?)", re.IGNORECASE)
T = TypeVar("T")
_TYPE_ZH = {
    PatentType.INVENTION: "发明 invention",
    PatentType.UTILITY_MODEL: "实用新型 utility model",
    PatentType.DESIGN: "外观设计 design",
}


@dataclass
class FieldIssue:
    """A problem with one field of a row (the importer adds the row number)."""

    field: str
    reason: str
    value: str | None = None


@dataclass
class Issues:
    """Errors (the row is refused) and warnings (the row loads) found while validating."""

    errors: list[FieldIssue] = field(default_factory=list)
    warnings: list[FieldIssue] = field(default_factory=list)

    def error(self, name: str, reason: str, value: str | None = None) -> None:
        """Refuse the row because of ``name``."""
        self.errors.append(FieldIssue(name, reason, value))

    def warn(self, name: str, reason: str, value: str | None = None) -> None:
        """Load the row but report ``name``."""
        self.warnings.append(FieldIssue(name, reason, value))

    def parsed(
        self, row: Mapping[str, str | None], name: str, parse: Callable[[str], T]
    ) -> T | None:
        """``parse(cell)``; None when blank or when it raises (then an error with the reason)."""
        raw = row.get(name)
        if not raw:
            return None
        try:
            return parse(raw)
        except (ValueError, InvalidValue) as exc:  # str(): the reason, for InvalidValue too
            self.error(name, str(exc), raw)
            return None


@dataclass
class PatentRecord:
    """A validated patent row, in the columns of ``Patent``."""

    natural_key: str
    title: str
    application_number: str | None = None
    publication_number: str | None = None
    grant_number: str | None = None
    patent_type: PatentType | None = None
    abstract: str | None = None
    first_claim: str | None = None
    ipc_codes: list[str] = field(default_factory=list)
    ipc_main: str | None = None
    applicants: list[str] = field(default_factory=list)
    patentees: list[str] = field(default_factory=list)
    inventors: list[str] = field(default_factory=list)
    filing_date: date | None = None
    publication_date: date | None = None
    grant_date: date | None = None
    expiry_date: date | None = None
    legal_status: LegalStatus = LegalStatus.PENDING
    language: str = "zh-Hans"
    source: str | None = None

    def columns(self) -> dict[str, object]:
        """Column values for ``Patent`` (everything but ids, ownership and timestamps)."""
        # Shallow on purpose: asdict's deep copies were a third of the import time.
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def content_hash(self) -> str:
        """SHA-256 of the normalised content, to tell an unchanged re-import from an update."""
        return content_hash(self.columns())


def build_patent_record(
    row: Mapping[str, str | None],
    *,
    today: date,
    ipc_scheme: IpcScheme | None = None,
    source: str | None = None,
) -> tuple[PatentRecord | None, Issues]:
    """Validate a canonical-keyed row; the record is None when any field error was found."""
    issues = Issues()
    title, abstract = _title_and_abstract(row, issues)
    appno = issues.parsed(row, F.APPLICATION_NUMBER, parse_application_number)
    publication = _publication_number(row, issues)
    dates = {name: issues.parsed(row, name, parse_date) for name in _DATE_FIELDS}
    patent_type = _patent_type(row, appno, publication, issues)
    _check_filing_year(row, appno, dates[F.FILING_DATE], issues)
    key = appno.normalised if appno else (f"pub:{publication}" if publication else None)
    if key is None and not row.get(F.APPLICATION_NUMBER):
        issues.error(
            F.APPLICATION_NUMBER, "no application number (or publication number) to key the row"
        )
    if issues.errors or key is None or title is None:
        return None, issues
    record = PatentRecord(
        natural_key=key,
        title=title,
        application_number=appno.normalised if appno else None,
        publication_number=publication,
        patent_type=patent_type,
        abstract=(abstract or "").strip() or None,
        filing_date=dates[F.FILING_DATE],
        publication_date=dates[F.PUBLICATION_DATE],
        grant_date=dates[F.GRANT_DATE],
        language=detect_script(title),
        source=source,
    )
    _add_details(record, row, ipc_scheme, today, issues)
    return record, issues


def _add_details(
    record: PatentRecord,
    row: Mapping[str, str | None],
    scheme: IpcScheme | None,
    today: date,
    issues: Issues,
) -> None:
    """Fields that cannot refuse a row: numbers, people, IPC, term and legal status."""
    record.grant_number = _number_text(row.get(F.GRANT_NUMBER))
    record.first_claim = (row.get(F.FIRST_CLAIM) or "").strip() or None
    record.ipc_codes, record.ipc_main = _ipc(row, scheme, issues)
    record.applicants = split_multi(row.get(F.APPLICANTS))
    record.patentees = split_multi(row.get(F.PATENTEES))
    record.inventors = split_multi(row.get(F.INVENTORS))
    record.expiry_date = compute_expiry(record.patent_type, record.filing_date)
    stated = _legal_status(row, record.publication_number, issues)
    record.legal_status = effective_legal_status(stated, record.expiry_date, today)


_DATE_FIELDS = (F.FILING_DATE, F.PUBLICATION_DATE, F.GRANT_DATE)


def _title_and_abstract(
    row: Mapping[str, str | None], issues: Issues
) -> tuple[str | None, str | None]:
    title, abstract = text_value(row.get(F.TITLE)), row.get(F.ABSTRACT)
    combined = row.get(F.COMBINED_TEXT)
    if combined:
        combined_title, combined_abstract = split_combined_text(combined)
        title, abstract = title or text_value(combined_title), abstract or combined_abstract
    if not title:
        issues.error(F.TITLE, "title is empty", row.get(F.TITLE))
    elif len(title) > TITLE_MAX:
        issues.warn(F.TITLE, f"title longer than {TITLE_MAX} characters was cut", title[:60])
        title = title[:TITLE_MAX]
    return title, abstract


def _check_filing_year(
    row: Mapping[str, str | None],
    appno: ApplicationNumber | None,
    filed: date | None,
    issues: Issues,
) -> None:
    if appno and filed and filed.year != appno.year:
        issues.warn(
            F.FILING_DATE,
            f"filing year {filed.year} differs from the application number's year "
            f"{appno.year}; the number wins (the stated date is kept, e.g. a divisional)",
            row.get(F.FILING_DATE),
        )


def _number_text(raw: str | None) -> str | None:
    text = "".join(plain(raw).upper().split()) if raw else ""
    return text[:40] or None


def _publication_number(row: Mapping[str, str | None], issues: Issues) -> str | None:
    number = _number_text(row.get(F.PUBLICATION_NUMBER))
    if number is None and row.get(F.LINK):
        found = _PUBLICATION_IN_LINK.search(row.get(F.LINK) or "")
        number = found.group(1).upper() if found else None
    if number and not _PUBLICATION.fullmatch(number):
        issues.warn(
            F.PUBLICATION_NUMBER, "unusual publication number (expected e.g. CN108982325A)", number
        )
    return number


def _patent_type(
    row: Mapping[str, str | None],
    appno: ApplicationNumber | None,
    publication: str | None,
    issues: Issues,
) -> PatentType | None:
    raw = row.get(F.PATENT_TYPE)
    stated = parse_patent_type(raw) if raw else None
    if raw and stated is None:
        issues.warn(F.PATENT_TYPE, "unrecognised patent type (use 发明, 实用新型 or 外观设计)", raw)
    if appno is None or appno.patent_type is None:
        return stated or publication_kind(publication)[0]
    if stated is not None and stated != appno.patent_type:
        issues.warn(
            F.PATENT_TYPE,
            f"file says {_TYPE_ZH[stated]} but application number {appno.normalised} is "
            f"{_TYPE_ZH[appno.patent_type]}; the number wins",
            raw,
        )
    return appno.patent_type


def _legal_status(
    row: Mapping[str, str | None], publication: str | None, issues: Issues
) -> LegalStatus:
    raw = row.get(F.LEGAL_STATUS)
    stated = parse_legal_status(raw) if raw else None
    if raw and stated is None:
        issues.warn(F.LEGAL_STATUS, "unrecognised legal status; taken from the publication", raw)
    # Without a stated status, the publication's kind code says how far the patent got.
    return stated or publication_kind(publication)[1] or LegalStatus.PENDING


def _ipc(
    row: Mapping[str, str | None], scheme: IpcScheme | None, issues: Issues
) -> tuple[list[str], str | None]:
    codes: list[str] = []
    for name in (F.IPC_MAIN, F.IPC):
        raw = row.get(name)
        try:
            found = split_ipc_list(raw) if raw else []
        except InvalidIpcCode as exc:
            issues.warn(name, f"{exc}; IPC codes of this cell were skipped", raw)
            continue
        codes.extend(code for code in found if code not in codes)
    if not codes and row.get(F.CPC):
        codes = cpc_as_ipc(row.get(F.CPC) or "", scheme)
    if scheme is not None:
        unknown = [code for code in codes if not scheme.contains(code)]
        if unknown:
            issues.warn(F.IPC, f"{UNKNOWN_IPC_REASON}: {', '.join(unknown)}", row.get(F.IPC))
    return codes, (codes[0] if codes else None)
