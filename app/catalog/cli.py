"""CLI: ``patentmatch import …`` and ``patentmatch demo …``."""

import typer

import_app = typer.Typer(
    help="Import patents and technology needs from csv, xlsx or jsonl.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
