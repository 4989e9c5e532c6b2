"""CLI: ``patentmatch eval run|report|calibrate`` — matching quality on corpus/queries files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from app.cli_errors import fail
from app.errors import AppError
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.search.evaluate import EvalIndex

eval_app = typer.Typer(
    help="Matching quality: run a method over a corpus, score the dev tasks.", no_args_is_help=True
)

TASKS = ("title", "field")
# The request-cost constraint of ``eval tune`` (dense candidates per request, pool × (2 +
# statements)): see ``tuning`` and the README's latency figures for how it was set.
DEFAULT_BUDGET = 1200


def eval_settings(model: str | None) -> Settings:
    """Settings with the model overridden from the command line."""
    settings = get_settings()
    return settings.model_copy(update={"model_name": model}) if model else settings


def load_eval_index(
    settings: Settings, corpus_path: Path, with_encoder: bool, with_scheme: bool | None = None
) -> EvalIndex:
    """Load the corpus and build the throw-away evaluation index."""
    from app.search.encoder import HASHING_MODEL, load_encoder, model_folder
    from app.search.evaldata import load_corpus
    from app.search.evaluate import SCHEME_RELATIVE, build_index
    from app.search.tuned import load_ranking_params

    corpus = load_corpus(corpus_path)
    encoder = load_encoder(settings, show_progress=True) if with_encoder else None
    # The scheme prior only matters when the ranking gives it a share (embedding its 8,115
    # titles takes long on a CPU).
    uses_scheme = with_scheme
    if uses_scheme is None:
        params = load_ranking_params(settings.ranking_file)
        uses_scheme = params.scheme_share > 0 or params.need_scheme_share > 0
    return build_index(
        corpus,
        encoder,
        cache_dir=settings.var_dir / "cache",
        scheme_path=settings.shared_dir / SCHEME_RELATIVE if uses_scheme else None,
        model_dir=None if settings.model_name == HASHING_MODEL else model_folder(settings),
    )


@eval_app.command("run")
def run_command(
    corpus: Path = typer.Option(..., "--corpus", help="Corpus JSONL (id, title, ipc)"),
    queries: Path = typer.Option(..., "--queries", help="Queries JSONL (qid, text)"),
    out: Path = typer.Option(..., "--out", help="Run TSV to write (qid doc_id rank score)"),
    method: str | None = typer.Option(
        None, "--method", help="bm25, dense, rrf or hybrid (default: the engine's, hybrid)"
    ),
    k: int = typer.Option(100, "--k", min=1, help="Results per query"),
    model: str | None = typer.Option(None, "--model", help="Encoder (default: settings)"),
    no_good_match_out: Path | None = typer.Option(
        None, "--no-good-match-out", help="Write the qids answered with no_good_match here"
    ),
) -> None:
    """Build a throw-away index from CORPUS, answer QUERIES, write a run file."""
    from app.search.evaldata import load_queries, write_run
    from app.search.evaluate import ENGINE_METHOD, Method, no_good_match, run_method

    chosen = method or ENGINE_METHOD.value
    if chosen not in {m.value for m in Method}:
        typer.secho(f"error: --method must be bm25, dense, rrf or hybrid, not {chosen!r}", err=True)
        raise typer.Exit(code=2)
    try:
        query_list = load_queries(queries)
        needs_encoder = chosen != Method.BM25 or no_good_match_out is not None
        index = load_eval_index(eval_settings(model), corpus, with_encoder=needs_encoder)
        run = run_method(index, query_list, Method(chosen), k)
        flagged = no_good_match(index, query_list) if no_good_match_out else []
    except AppError as error:
        raise fail(error) from error
    write_run(out, run)
    typer.echo(f"wrote {sum(map(len, run.values()))} rows for {len(run)} queries to {out}")
    if no_good_match_out is not None:
        no_good_match_out.parent.mkdir(parents=True, exist_ok=True)
        no_good_match_out.write_text("".join(f"{q}\n" for q in flagged), encoding="utf-8")
        typer.echo(f"{len(flagged)} of {len(query_list)} queries flagged no_good_match")


@eval_app.command("tune")
def tune_command(
    dev_dir: Path | None = typer.Option(None, "--dev", help="Dev set folder (default: shared)"),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds"),
    write: bool = typer.Option(False, "--write", help="Write the packaged ranking artefact"),
    model: str | None = typer.Option(None, "--model", help="Encoder (default: settings)"),
    budget: int = typer.Option(
        DEFAULT_BUDGET, "--budget", min=1, help="Most dense candidates per request: pool × vectors"
    ),
) -> None:
    """Choose the ranking parameters by k-fold CV on the need set and the title/field tasks."""
    import json

    from app.search.tuned import RANKING_FILE, write_ranking_params
    from app.search.tuning import tune

    folder = dev_dir or get_settings().shared_dir / "eval" / "dev"
    try:
        settings = eval_settings(model)
        index = load_eval_index(
            settings, folder / "corpus.jsonl", with_encoder=True, with_scheme=True
        )
        params, report = tune(index, folder, folds, budget)
    except AppError as error:
        raise fail(error) from error
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    typer.echo(repr(params))
    if write:
        write_ranking_params(RANKING_FILE, params, report)
        typer.echo(f"wrote {RANKING_FILE}")


def report_lines(dev_dir: Path, model: str | None) -> list[str]:
    """Score bm25, dense and hybrid on the dev tasks; one line per (task, method)."""
    from app.search.evaldata import load_qrels, load_queries, score_run
    from app.search.evaluate import Method, run_method

    settings = eval_settings(model)
    index = load_eval_index(settings, dev_dir / "corpus.jsonl", with_encoder=True)
    lines = [f"model {settings.model_name}; corpus {len(index.corpus)} documents"]
    lines.append(f"{'task':<6} {'method':<7} {'nDCG@10':>8} {'P@10':>7} {'MRR@10':>7}")
    for task in TASKS:
        queries = load_queries(dev_dir / f"{task}_queries.jsonl")
        qrels = load_qrels(dev_dir / f"{task}_qrels.tsv")
        for method in Method:
            s = score_run(qrels, run_method(index, queries, method, 10))
            lines.append(
                f"{task:<6} {method.value:<7} {s['ndcg@10']:>8.4f} {s['p@10']:>7.4f} "
                f"{s['mrr@10']:>7.4f}"
            )
    return lines


@eval_app.command("report")
def report_command(
    dev_dir: Path | None = typer.Option(None, "--dev", help="Dev set folder (default: shared)"),
    model: str | None = typer.Option(None, "--model", help="Encoder (default: settings)"),
) -> None:
    """Print nDCG@10, P@10, MRR@10 of bm25, dense and hybrid on the title and field tasks."""
    folder = dev_dir or get_settings().shared_dir / "eval" / "dev"
    try:
        lines = report_lines(folder, model)
    except AppError as error:
        raise fail(error) from error
    typer.echo("\n".join(lines))


@eval_app.command("calibrate")
def calibrate_command(
    dev_dir: Path | None = typer.Option(None, "--dev", help="Dev set folder (default: shared)"),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds for the checks"),
    write: bool = typer.Option(False, "--write", help="Write the packaged calibration artefact"),
    model: str | None = typer.Option(None, "--model", help="Encoder (default: settings)"),
) -> None:
    """Fit P(useful) on the need-style judgements (both directions); print held-out checks."""
    import json

    from app.search.calibration_eval import calibrate
    from app.search.needeval import load_need_set
    from app.search.tuned import CALIBRATION_FILE, load_ranking_params, write_calibrations

    folder = dev_dir or get_settings().shared_dir / "eval" / "dev"
    settings = eval_settings(model)
    try:
        needs = load_need_set(folder / "needs")
        index = load_eval_index(settings, folder / "corpus.jsonl", with_encoder=True)
        fits, report = calibrate(index, needs, load_ranking_params(settings.ranking_file), folds)
    except AppError as error:
        raise fail(error) from error
    report["command"] = f"patentmatch eval calibrate --folds {folds} --write"
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
    for name, directions in fits.items():
        for direction, fit in directions.items():
            typer.echo(f"{name} {direction}: {json.dumps(fit.to_json())}")
    if write:
        write_calibrations(CALIBRATION_FILE, settings.model_name, fits, report)
        typer.echo(f"wrote {CALIBRATION_FILE}")
