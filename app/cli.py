"""The ``patentmatch`` command line: one root app, one sub-app per concern."""

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError
from typer.core import TyperGroup

from app.api.cli import keys_app, serve_app
from app.api.worker import worker_app
from app.catalog.cli import demo_app, import_app
from app.catalog.org_cli import orgs_app
from app.chains.cli import chains_app
from app.cli_errors import database_failure
from app.console.cli import users_app
from app.dbcli import db_app
from app.deals.cli import alerts_app
from app.search.cli import index_app, model_app
from app.search.evalcli import eval_app


class _RootGroup(TyperGroup):
    """The root command group: a database that is missing or not migrated is one line."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; turn database-state errors into a message and exit code 1."""
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            typer.secho(f"error: {database_failure(exc)}", err=True, fg=typer.colors.RED)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_RootGroup,
    help="patentmatch — patent supply–demand matchmaking (专利供需对接).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def package_version() -> str:
    """The installed package's version (``0+unknown`` when not installed)."""
    try:
        return version("patentmatch")
    except PackageNotFoundError:
        return "0+unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"patentmatch {package_version()}")
        raise typer.Exit()


@app.callback()
def root(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """patentmatch — patent supply–demand matchmaking (专利供需对接)."""


app.add_typer(db_app, name="db")
app.add_typer(orgs_app, name="orgs")
app.add_typer(alerts_app, name="alerts")
app.add_typer(serve_app, name="serve")
app.add_typer(worker_app, name="worker")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(demo_app, name="demo")
app.add_typer(model_app, name="model")
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")
app.add_typer(chains_app, name="chains")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
