"""The tagger with no chain defined: it moves past the change log and writes nothing."""

from pathlib import Path

from sqlalchemy import func
from sqlmodel import Session, select

from app.catalog.enums import ChangeOp, EntityKind
from app.catalog.models import IndexChange
from app.chains.models import ChainTag, ChainTaggerState
from app.chains.tagging import tag_round
from app.db import create_schema, make_engine
from app.settings import Settings


def test_without_chains_a_round_skips_the_log_and_writes_no_tag(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'chains.db'}")
    create_schema(engine)
    with Session(engine) as session:
        for entity_id in range(1, 51):
            session.add(
                IndexChange(entity=EntityKind.PATENT, entity_id=entity_id, op=ChangeOp.UPSERT)
            )
        session.commit()
    report = tag_round(engine, Settings(var_dir=tmp_path))
    assert (report.nodes, report.patents, report.needs, report.last_change_id) == (0, 0, 0, 50)
    with Session(engine) as session:
        assert session.exec(select(ChainTaggerState.last_change_id)).one() == 50
        assert session.exec(select(func.count()).select_from(ChainTag)).one() == 0
    assert tag_round(engine, Settings(var_dir=tmp_path)).last_change_id == 50
    engine.dispose()
