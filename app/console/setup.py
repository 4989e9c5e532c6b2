"""Mount the console on the FastAPI app: its state, static files and routes."""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.console.routes import (
    admin,
    admin_ops,
    auth,
    chains,
    dashboard,
    deal,
    desk,
    enterprise,
    filings,
    licensing,
    team,
    tto,
)
from app.console.web import ConsoleState

STATIC_URL = "/static/console"


def install_console(app: FastAPI) -> None:
    """Add the console pages at ``/`` and their assets under ``/static/console``."""
    app.state.console = ConsoleState.build()
    static = Path(str(files("app.console") / "static"))
    app.mount(STATIC_URL, StaticFiles(directory=static), name="console-static")
    routers = (
        auth,
        team,
        tto,
        licensing,
        enterprise,
        dashboard,
        deal,
        desk,
        admin,
        admin_ops,
        filings,
        chains,
    )
    for module in routers:
        app.include_router(module.router)
