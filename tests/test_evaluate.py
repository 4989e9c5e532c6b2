"""Evaluation: file loading, scoring identical to shared/tools/score_run.py, runs and the CLI."""

import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.errors import BadRequest
from app.search.encoder import HashingEncoder
from app.search.evaldata import load_corpus, load_qrels, load_queries, score_run, write_run
from app.search.evaluate import Method, build_index, run_method

CORPUS = [
    {"id": "CN1A", "title": "一种锂离子电池正极材料", "ipc": ["H01M"]},
    {"id": "CN2A", "title": "锂电池负极材料的制备方法", "ipc": ["H01M", "C01B"]},
    {"id": "TW-x", "title": "鋰電池電極結構", "ipc": ["H01M"]},
    {"id": "CN3A", "title": "农作物收割机的割台", "ipc": ["A01D"]},
    {"id": "CN4A", "title": "联合收割机的脱粒装置", "ipc": ["A01D", "A01F"]},
    {"id": "CN5A", "title": "风力发电机叶片检测方法", "ipc": ["F03D"]},
]
QUERIES = [{"qid": "q1", "text": "锂电池正极"}, {"qid": "q2", "text": "收割机割台"}]
QRELS = "qid\tdoc_id\tgrade\nq1\tCN1A\t2\nq1\tCN2A\t1\nq1\tTW-x\t2\nq2\tCN3A\t2\nq2\tCN4A\t1\n"


@pytest.fixture
def files(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in CORPUS) + "\n")
    queries = tmp_path / "queries.jsonl"
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in QUERIES) + "\n")
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text(QRELS)
    return corpus, queries, qrels


def _reference_scorer(shared_dir: Path):
    spec = importlib.util.spec_from_file_location("score_run", shared_dir / "tools/score_run.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scores_match_the_shared_tool(files, tmp_path, shared_dir):
    _, _, qrels_path = files
    run = {"q1": [("CN5A", 3.0), ("TW-x", 2.0), ("CN2A", 1.0)], "q2": [("CN4A", 1.0)]}
    run_path = tmp_path / "run.tsv"
    write_run(run_path, run)
    tool = _reference_scorer(shared_dir)
    expected = tool.score(tool.load_qrels(qrels_path), tool.load_run(run_path))
    assert score_run(load_qrels(qrels_path), run) == expected
    assert 0 < expected["ndcg@10"] < 1


def test_run_file_has_header_and_one_based_ranks(tmp_path):
    path = tmp_path / "run.tsv"
    write_run(path, {"q": [("a", 2.0), ("b", 1.0)]})
    lines = path.read_text().splitlines()
    assert lines[0] == "qid\tdoc_id\trank\tscore"
    assert lines[1].split("\t")[:3] == ["q", "a", "1"]
    assert lines[2].split("\t")[:3] == ["q", "b", "2"]


def test_bad_corpus_rows_name_the_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "A", "title": "x"}\n{"id": "B"}\n')
    with pytest.raises(BadRequest, match=r"bad.jsonl:2: field 'title'"):
        load_corpus(path)
    path.write_text('{"id": "A", "title": "x"}\nnot json\n')
    with pytest.raises(BadRequest, match=r":2: not valid JSON"):
        load_corpus(path)
    with pytest.raises(BadRequest, match="no such file"):
        load_queries(tmp_path / "missing.jsonl")


def test_methods_rank_relevant_documents_first(files, tmp_path):
    corpus_path, queries_path, qrels_path = files
    corpus = load_corpus(corpus_path)
    index = build_index(corpus, HashingEncoder(), cache_dir=tmp_path / "cache", scheme_path=None)
    queries = load_queries(queries_path)
    qrels = load_qrels(qrels_path)
    for method in Method:
        run = run_method(index, queries, method, 3)
        assert run["q2"][0][0] in {"CN3A", "CN4A"}, method
        assert score_run(qrels, run)["mrr@10"] == 1.0, method
    # The embedding cache was written and is reused.
    assert list((tmp_path / "cache").glob("emb-hashing-d-*.npy"))


def test_eval_queries_are_encoded_like_stored_needs(files, tmp_path):
    """Eval queries stand for posted needs: the passage encoder encodes them, as indexing does."""
    from app.search.split_encoder import SplitEncoder

    queries, passages = HashingEncoder(), HashingEncoder()
    queries.vectors_tag = "hashing+q8"  # type: ignore[attr-defined]
    passages.vectors_tag = "hashing+p32"  # type: ignore[attr-defined]
    split = SplitEncoder(queries, lambda: passages, "hashing+p32")
    corpus = load_corpus(files[0])
    index = build_index(corpus, split, cache_dir=tmp_path / "cache", scheme_path=None)
    run_method(index, load_queries(files[1]), Method.DENSE, 3)
    names = sorted(p.name.rsplit("-", 1)[0] for p in (tmp_path / "cache").glob("*.npy"))
    assert names == ["emb-hashing+p32+sv-d", "emb-hashing+p32+sv-q"]


def test_cli_run_writes_a_run_file(files, tmp_path, monkeypatch):
    corpus_path, queries_path, _ = files
    monkeypatch.setenv("PATENTMATCH_MODEL_NAME", "hashing")
    monkeypatch.setenv("PATENTMATCH_VAR_DIR", str(tmp_path / "var"))
    # No IPC scheme here: embedding its 8,000 titles is not what this test is about.
    monkeypatch.setenv("PATENTMATCH_SHARED_DIR", str(tmp_path / "no-shared"))
    out = tmp_path / "out" / "run.tsv"
    args = ["eval", "run", "--corpus", str(corpus_path), "--queries", str(queries_path)]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--method", "hybrid", "--k", "4"])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    assert rows[0] == "qid\tdoc_id\trank\tscore"
    assert {r.split("\t")[0] for r in rows[1:]} == {"q1", "q2"}
    assert len(rows) - 1 <= 8


def test_cli_reports_bad_input_without_traceback(files, tmp_path, monkeypatch):
    _, queries_path, _ = files
    monkeypatch.setenv("PATENTMATCH_MODEL_NAME", "hashing")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "A"}\n')
    args = ["eval", "run", "--corpus", str(bad), "--queries", str(queries_path)]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "r.tsv")])
    assert result.exit_code == 1
    assert "bad.jsonl:1: field 'title'" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "r.tsv"), "--method", "x"])
    assert result.exit_code == 2


FIELD_QUERIES = [
    {"qid": "IPC-H01M", "text": "电池电极材料"},
    {"qid": "IPC-A01D", "text": "收割机"},
    {"qid": "IPC-F03D", "text": "风力发电机"},
]
FIELD_QRELS = "qid\tdoc_id\tgrade\nIPC-H01M\tCN1A\t1\nIPC-H01M\tTW-x\t1\nIPC-A01D\tCN3A\t1\n"
TITLE_QUERIES = [
    *QUERIES,
    {"qid": "q3", "text": "锂电池电极"},
    {"qid": "q4", "text": "风力发电叶片"},
]
TITLE_QRELS = QRELS + "q3\tTW-x\t2\nq3\tCN1A\t2\nq4\tCN5A\t2\n"


NEEDS = [
    {"nid": "D1", "title": "电池正极寿命短", "description": "我司生产锂电池，正极材料循环寿命短。"
     "希望找到新的锂电池正极材料。可接受技术转让。", "seed_id": "CN1A"},
    {"nid": "D2", "title": "收割机割台易堵", "description": "农场收割机割台经常堵塞，想改进割台。",
     "seed_id": "CN3A"},
    {"nid": "D3", "title": "风机叶片检测", "description": "风电场需要检测风力发电机叶片的方法。",
     "seed_id": "CN5A"},
    {"nid": "Y1", "title": "年会策划", "description": "公司年会需要策划团队，预算30万。",
     "seed_id": ""},
]  # fmt: skip
JUDGEMENTS = (
    "qid\tdoc_id\tgrade\nD1\tCN1A\t3\nD1\tTW-x\t2\nD1\tCN3A\t0\nD2\tCN3A\t3\n"
    "D2\tCN4A\t2\nD3\tCN5A\t3\nD3\tCN1A\t0\n"
)


def _report(output: str) -> dict:
    """The JSON report a command printed (progress lines around it)."""
    start = output.index("{\n")
    return json.loads(output[start : output.index("\n}\n", start) + 2])


def write_dev(dev: Path) -> None:
    """A tiny dev folder: corpus, title/field tasks and a need set."""
    (dev / "needs").mkdir(parents=True)
    for name, rows in [
        ("corpus", CORPUS), ("title_queries", TITLE_QUERIES), ("field_queries", FIELD_QUERIES)
    ]:  # fmt: skip
        lines = [json.dumps(r, ensure_ascii=False) for r in rows]
        (dev / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    (dev / "title_qrels.tsv").write_text(TITLE_QRELS)
    (dev / "field_qrels.tsv").write_text(FIELD_QRELS)
    needs = [json.dumps(n, ensure_ascii=False) for n in NEEDS]
    (dev / "needs" / "needs.jsonl").write_text("\n".join(needs) + "\n")
    queries = [
        json.dumps(
            {"qid": n["nid"], "text": f"{n['title']}。{n['description']}"}, ensure_ascii=False
        )
        for n in NEEDS
    ]
    (dev / "needs" / "need_queries.jsonl").write_text("\n".join(queries) + "\n")
    (dev / "needs" / "judgements.tsv").write_text(JUDGEMENTS)


@pytest.fixture
def dev(tmp_path, monkeypatch):
    folder = tmp_path / "dev"
    write_dev(folder)
    monkeypatch.setenv("PATENTMATCH_MODEL_NAME", "hashing")
    monkeypatch.setenv("PATENTMATCH_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PATENTMATCH_SHARED_DIR", str(tmp_path / "no-shared"))
    return folder


def test_cli_calibrate_fits_on_need_judgements_with_held_out_checks(dev):
    result = CliRunner().invoke(app, ["eval", "calibrate", "--dev", str(dev), "--folds", "2"])
    assert result.exit_code == 0, result.output
    report = _report(result.output)
    for direction in ("patents", "needs", "patents (model-free)", "needs (model-free)"):
        assert "held-out brier (2-fold)" in report[direction]
        assert 0.0 <= report[direction]["no_match_below"] <= 1.0
    assert report["patents"]["unanswerable"] == 1.0  # Y1
    assert "hashing patents:" in result.output
    assert "* needs:" in result.output


def test_cli_tune_reports_cross_validated_figures_for_both_tasks(dev):
    result = CliRunner().invoke(app, ["eval", "tune", "--dev", str(dev), "--folds", "2"])
    assert result.exit_code == 0, result.output
    report = _report(result.output)
    assert set(report["needs"]) == {"ndcg@10 dev", "ndcg@10 2-fold cv"}
    assert set(report["title and field"]) == {
        "ndcg@10 dev",
        "ndcg@10 2-fold cv",
        "ndcg@10 dev, title",
        "ndcg@10 dev, field",
    }
    assert "RankingParams(" in result.output
    # The request-cost constraint is part of the command that made the artefact.
    assert "--budget" in report["command"]


def test_eval_run_defaults_to_the_engine_method_and_writes_no_good_match(dev, tmp_path):
    out, flagged = tmp_path / "run.tsv", tmp_path / "ngm.txt"
    queries = dev / "needs" / "need_queries.jsonl"
    args = ["eval", "run", "--corpus", str(dev / "corpus.jsonl"), "--queries", str(queries)]
    result = CliRunner().invoke(
        app, [*args, "--out", str(out), "--no-good-match-out", str(flagged)]
    )
    assert result.exit_code == 0, result.output
    default = out.read_text()
    hybrid = tmp_path / "hybrid.tsv"
    CliRunner().invoke(app, [*args, "--out", str(hybrid), "--method", "hybrid"])
    assert hybrid.read_text() == default  # no --method: the engine's (hybrid)
    lines = flagged.read_text().splitlines()
    assert set(lines) <= {n["nid"] for n in NEEDS}
    assert "queries flagged no_good_match" in result.output
