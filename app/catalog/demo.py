"""Demo data: real patents from the shared folder, demo organisations, illustrative needs.

Everything is upserted on natural keys, so loading twice changes nothing the second time.
"""

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from app.catalog.enums import LegalStatus, NeedStatus, OrgKind
from app.catalog.importer import import_patents, run_batches
from app.catalog.ipc import InvalidIpcCode, IpcScheme, load_ipc_scheme, normalise_ipc
from app.catalog.models import Organisation
from app.catalog.need_import import upsert_needs
from app.catalog.need_records import NeedRecord, build_need_record
from app.catalog.patent_upsert import OwnedRecord, PatentWriter
from app.catalog.records import PatentRecord
from app.catalog.report import ImportReport
from app.catalog.text import detect_script
from app.catalog.values import publication_kind
from app.errors import BadRequest

DEMO_NEEDS = Path(__file__).with_name("demo_needs.json")
PATENT_FILES = ("data/patents/cn_application_list.csv", "data/patents/cn_full_record_samples")
CORPUS = Path("eval/dev/corpus.jsonl")
# The universities with most Taiwanese academic patents become demo university organisations.
UNIVERSITY_COUNT = 5
TAIWAN_REGION = "710000"
CORPUS_BATCH = 2000

Echo = Callable[[str], None]


@dataclass
class DemoSummary:
    """What a demo load did, per source."""

    reports: dict[str, ImportReport] = field(default_factory=dict)
    organisations: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [
            f"{name}: read {r.read}, inserted {r.inserted}, updated {r.updated}, "
            f"unchanged {r.unchanged}, rejected {r.rejected}"
            for name, r in self.reports.items()
        ]
        out.append("organisations: " + ", ".join(self.organisations))
        return out


def load_demo(session: Session, shared_dir: Path, *, echo: Echo | None = None) -> DemoSummary:
    """Load the demo catalog from ``shared_dir``; raise BadRequest when the folder is absent."""
    if not shared_dir.is_dir():
        raise BadRequest(f"shared folder {shared_dir} not found")
    say = echo or (lambda _line: None)
    summary = DemoSummary()
    scheme = load_ipc_scheme(shared_dir)
    for path in _patent_files(shared_dir):
        say(f"importing {path.name}")
        summary.reports[path.name] = import_patents(session, path, ipc_scheme=scheme)
    corpus = shared_dir / CORPUS
    if corpus.is_file():
        say(f"importing {corpus.name}")
        owners = _universities(session, corpus, summary)
        summary.reports[corpus.name] = load_corpus(session, corpus, owners, scheme)
    summary.reports["illustrative needs"] = load_needs(session, summary)
    return summary


def _patent_files(shared_dir: Path) -> Iterator[Path]:
    for relative in PATENT_FILES:
        path = shared_dir / relative
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix in (".csv", ".xlsx"))


def _corpus_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, json.loads(line)


def ensure_org(session: Session, name: str, kind: OrgKind, **fields: Any) -> Organisation:
    """The organisation of that name and kind, created (with ``fields``) when absent."""
    stmt = select(Organisation).where(Organisation.name == name, Organisation.kind == kind)
    org = session.exec(stmt).first()
    if org is None:
        org = Organisation(name=name, kind=kind, **fields)
        session.add(org)
        session.flush()
    return org


def _universities(session: Session, corpus: Path, summary: DemoSummary) -> dict[str, int]:
    """Demo university organisations: the commonest first applicants among Taiwanese rows."""
    counts = Counter(
        row["applicants"][0]
        for _, row in _corpus_rows(corpus)
        if row.get("applicants") and str(row.get("id", "")).startswith("TW-")
    )
    owners: dict[str, int] = {}
    for name, _count in counts.most_common(UNIVERSITY_COUNT):
        org = ensure_org(session, name, OrgKind.UNIVERSITY, region=TAIWAN_REGION)
        if org.id is not None:
            owners[name] = org.id
        summary.organisations.append(name)
    session.commit()
    return owners


def corpus_record(row: dict[str, Any], scheme: IpcScheme | None) -> PatentRecord:
    """A patent record from an evaluation-corpus line (titles, IPC subclasses, applicants)."""
    source_id = str(row["id"])
    publication = None if source_id.startswith("TW-") else source_id
    patent_type, status = publication_kind(publication)
    codes: list[str] = []
    for raw in row.get("ipc") or []:
        try:
            code = normalise_ipc(str(raw))
        except InvalidIpcCode:
            continue
        if code not in codes and (scheme is None or scheme.contains(code)):
            codes.append(code)
    title = str(row["title"]).strip()
    return PatentRecord(
        natural_key=f"src:{source_id}",
        title=title,
        publication_number=publication,
        patent_type=patent_type,
        ipc_codes=codes,
        ipc_main=codes[0] if codes else None,
        applicants=[str(a) for a in row.get("applicants") or []],
        legal_status=status or LegalStatus.PENDING,
        language=str(row.get("lang") or detect_script(title)),
        source=str(row.get("source") or "corpus")[:100],
    )


def load_corpus(
    session: Session, path: Path, owners: dict[str, int], scheme: IpcScheme | None
) -> ImportReport:
    """Upsert the evaluation corpus (natural key ``src:<id>``); universities own their rows."""
    report = ImportReport()

    def records() -> Iterator[OwnedRecord]:
        for number, row in _corpus_rows(path):
            report.read += 1
            applicants = row.get("applicants") or []
            owner = owners.get(applicants[0]) if applicants else None
            yield OwnedRecord(number, corpus_record(row, scheme), owner)

    writer = PatentWriter(session, report)
    run_batches(session, records(), writer.write, CORPUS_BATCH, lambda: None)
    return report


def load_needs(session: Session, summary: DemoSummary) -> ImportReport:
    """The illustrative needs of ``demo_needs.json``, posted by its fictitious enterprises."""
    data = json.loads(DEMO_NEEDS.read_text(encoding="utf-8"))
    station = data["station"]
    ensure_org(
        session,
        station["name"],
        OrgKind.SERVICE_STATION,
        region=station["region"],
        coverage_regions=station["coverage_regions"],
        coverage_industries=station["coverage_industries"],
    )
    summary.organisations.append(station["name"])
    enterprises = {e["key"]: e for e in data["enterprises"]}
    report = ImportReport()
    records = [_need_record(need, enterprises[need["org"]]) for need in data["needs"]]
    report.read = len(records)
    upsert_needs(session, records, report, org_id=None)
    session.commit()
    summary.organisations.extend(e["name"] for e in data["enterprises"])
    return report


def _need_record(need: dict[str, Any], enterprise: dict[str, Any]) -> NeedRecord:
    row = {
        "title": need["title"],
        "description": need["description"],
        "enterprise": enterprise["name"],
        "industry": need["industry"],
        "region": need["region"],
        "cooperation_modes": need["modes"],
        "budget": need["budget"],
        "deadline": need["deadline"],
        "external_ref": need["ref"],
    }
    record, issues = build_need_record(row, has_org=False, default_status=NeedStatus.PUBLISHED)
    if record is None:
        # The file ships with the package; a bad entry is a bug, not user input.
        raise ValueError(f"demo need {need['ref']}: {issues.errors}")
    record.illustrative = True
    return record
