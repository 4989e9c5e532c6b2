"""A small catalog for the match-engine tests, written the way the catalog writes (with changes)."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlmodel import Session

from app.catalog.changes import record_change
from app.catalog.enums import (
    ChangeOp,
    ConversionStatus,
    EntityKind,
    LegalStatus,
    NeedStatus,
    OrgKind,
    PatentType,
)
from app.catalog.models import Organisation, Patent, TechNeed
from app.search.encoder import HashingEncoder
from app.search.engine import MatchEngine
from app.search.lexical import Tokenizer
from app.settings import Settings
from app.wiring import match_penalties


@dataclass
class Catalog:
    """Primary keys of the rows written by ``build_catalog``."""

    university: int
    enterprise: int
    poster: int
    cathode: int
    electrolyte: int
    irrigation: int
    sewage: int
    vision: int
    soc: int
    need_battery: int
    need_irrigation: int
    need_draft: int


def add_org(session: Session, name: str, kind: OrgKind, region: str | None) -> int:
    """Insert an organisation and return its id."""
    org = Organisation(name=name, kind=kind, region=region)
    session.add(org)
    session.flush()
    assert org.id is not None
    return org.id


def add_patent(session: Session, title: str, ipc: list[str], **fields: object) -> int:
    """Insert a patent, log the change, return its id."""
    patent = Patent(natural_key=f"test:{title}", title=title, ipc_codes=ipc, **fields)
    patent.ipc_main = ipc[0] if ipc else None
    session.add(patent)
    session.flush()
    assert patent.id is not None
    record_change(session, EntityKind.PATENT, patent.id, ChangeOp.UPSERT)
    session.flush()
    return patent.id


def add_need(
    session: Session, org_id: int, title: str, description: str, status: NeedStatus
) -> int:
    """Insert a need, log the change, return its id."""
    need = TechNeed(org_id=org_id, title=title, description=description, status=status)
    session.add(need)
    session.flush()
    assert need.id is not None
    record_change(session, EntityKind.NEED, need.id, ChangeOp.UPSERT)
    session.flush()
    return need.id


def touch(session: Session, row: Patent | TechNeed, **fields: object) -> None:
    """Update a patent or need and log the change."""
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)
    kind = EntityKind.PATENT if isinstance(row, Patent) else EntityKind.NEED
    assert row.id is not None
    record_change(session, kind, row.id, ChangeOp.UPSERT)
    session.flush()


def build_catalog(session: Session) -> Catalog:
    """Three organisations, six patents (one lapsed), two published needs and a draft."""
    uni = add_org(session, "浙江某大学", OrgKind.UNIVERSITY, "330106")
    ent = add_org(session, "苏州某电池公司", OrgKind.ENTERPRISE, "320500")
    poster = add_org(session, "北京某制造企业", OrgKind.ENTERPRISE, "110108")
    granted = {"legal_status": LegalStatus.GRANTED, "patent_type": PatentType.INVENTION}
    ids = {
        "cathode": add_patent(
            session,
            "一种锂离子电池正极材料及其制备方法",
            ["H01M 4/58"],
            abstract="本发明公开了一种磷酸铁锂正极材料，显著提高锂电池的循环寿命。",
            owner_org_id=uni,
            expiry_date=date(2040, 5, 1),
            **granted,
        ),
        "electrolyte": add_patent(
            session,
            "锂电池电解液添加剂",
            ["H01M 10/0567"],
            abstract="一种提高锂电池高温性能的电解液添加剂。",
            owner_org_id=ent,
            expiry_date=date(2030, 1, 1),
            legal_status=LegalStatus.GRANTED,
            patent_type=PatentType.UTILITY_MODEL,
            conversion_status=ConversionStatus.OPEN_LICENCE,
        ),
        "irrigation": add_patent(
            session,
            "一种智能灌溉控制系统",
            ["A01G 25/16"],
            abstract="根据土壤湿度传感器数据自动控制农田灌溉阀门。",
            owner_org_id=uni,
            expiry_date=date(2035, 3, 1),
            **granted,
        ),
        "sewage": add_patent(
            session,
            "污水处理用生物膜反应器",
            ["C02F 3/10"],
            owner_org_id=ent,
            legal_status=LegalStatus.LAPSED,
            patent_type=PatentType.INVENTION,
        ),
        "vision": add_patent(
            session, "基于深度学习的图像识别方法", ["G06V 10/82"], owner_org_id=uni
        ),
        "soc": add_patent(
            session,
            "电池管理系统的荷电状态估计方法",
            ["H01M 10/48", "G01R 31/36"],
            first_claim="1. 一种锂电池荷电状态估计方法，其特征在于，采用卡尔曼滤波。",
            **granted,
        ),
    }
    battery = add_need(
        session,
        poster,
        "寻求高循环寿命的锂电池正极材料技术",
        "我公司生产动力电池，需要提高磷酸铁锂正极材料的循环寿命。",
        NeedStatus.PUBLISHED,
    )
    irrigation = add_need(
        session, poster, "农田智能灌溉解决方案", "需要土壤湿度自动灌溉控制。", NeedStatus.PUBLISHED
    )
    draft = add_need(
        session, poster, "锂电池正极材料循环寿命", "磷酸铁锂正极材料。", NeedStatus.DRAFT
    )
    return Catalog(uni, ent, poster, **ids, need_battery=battery, need_irrigation=irrigation,
                   need_draft=draft)  # fmt: skip


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Settings for a hashing-encoder engine with its index under ``tmp_path``.

    ``shared_dir`` and ``var_dir`` point into ``tmp_path`` too, so no test embeds the real IPC
    scheme (write a small one with ``write_scheme`` where a test needs the scheme evidence).
    """
    values: dict[str, object] = {
        "model_name": "hashing",
        "index_dir": tmp_path / "index",
        "shared_dir": tmp_path / "shared",
        "var_dir": tmp_path / "var",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def make_engine(
    tmp_path: Path, dim: int = 256, tokenizer: Tokenizer | None = None, **overrides: object
) -> MatchEngine:
    """A match engine on the hashing encoder (pass a shared tokenizer: jieba loads slowly)."""
    settings = make_settings(tmp_path, **overrides)
    # Wired like the app: deals' decline reasons feed back into the ranking.
    return MatchEngine(
        settings, HashingEncoder(dim), tokenizer=tokenizer, penalties=match_penalties()
    )


def write_scheme(shared_dir: Path, rows: list[tuple[str, str, str]]) -> Path:
    """A small CNIPA-style scheme CSV (code, level, title) where the engine looks for it."""
    path = shared_dir / "data" / "ipc" / "ipc_zh_2026_01.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["code,level,title_zh,notes_zh", *(f"{c},{level},{t}," for c, level, t in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
