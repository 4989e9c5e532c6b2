"""The ``patentmatch`` command line: one root app, one sub-app per concern."""

import typer

from app.api.cli import keys_app, serve_app
from app.catalog.cli import demo_app, import_app
from app.console.cli import users_app
from app.dbcli import db_app
from app.deals.cli import alerts_app
from app.search.cli import index_app, model_app
from app.search.evalcli import eval_app

app = typer.Typer(
    help="patentmatch — patent supply–demand matchmaking (专利供需对接).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(db_app, name="db")
app.add_typer(alerts_app, name="alerts")
app.add_typer(serve_app, name="serve")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(import_app, name="import")
app.add_typer(demo_app, name="demo")
app.add_typer(model_app, name="model")
app.add_typer(index_app, name="index")
app.add_typer(eval_app, name="eval")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
