"""CLI: ``patentmatch serve`` and ``patentmatch keys create|list|revoke``."""

import logging
from datetime import datetime
from typing import Annotated

import typer

from app.auth.keys import active_admin_key, create_key, list_keys, revoke_key
from app.auth.principal import Role
from app.catalog.orgs import resolve_org
from app.cli_errors import fail
from app.db import engine_from_settings, session_scope
from app.errors import AppError
from app.settings import get_settings

serve_app = typer.Typer(help="Run the HTTP API.")
keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


@serve_app.callback(invoke_without_command=True)
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    reload: Annotated[bool, typer.Option(help="Reload on code changes (development)")] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes sharing the port")
    ] = 1,
) -> None:
    """Serve the API with uvicorn (settings from PATENTMATCH_* variables).

    With ``--workers N`` each process loads the index and runs its own indexer thread; one of
    them (the holder of the index folder's lock) publishes generations there.
    """
    import uvicorn

    # Request logs are already JSON lines; print them bare on stderr next to uvicorn's own.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    app_logger = logging.getLogger("patentmatch")
    app_logger.addHandler(handler)
    app_logger.setLevel(logging.INFO)

    uvicorn.run(
        "app.api.main:create_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        workers=None if reload else workers,
        # The app logs every request itself (JSON, with its request id); uvicorn's own access
        # line would double the logging work per request.
        access_log=False,
        # Loading the index holds the GIL in long C calls, so a starting worker may answer the
        # supervisor's ping late; uvicorn's default of 5 s had it killed and restarted in a loop.
        timeout_worker_healthcheck=120,
        # Seconds open requests get after SIGTERM before the lifespan saves the index.
        timeout_graceful_shutdown=20,
    )


@keys_app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="enterprise, tto, station, government or admin")],
    org: Annotated[
        str | None, typer.Option(help="Organisation id or unique name (optional for admin)")
    ] = None,
    expires_days: Annotated[int | None, typer.Option(help="Expire after N days")] = None,
    label: Annotated[str | None, typer.Option(help="A note saying what the key is for")] = None,
) -> None:
    """Create a key and print its secret — shown only this once."""
    engine = engine_from_settings(get_settings())
    try:
        with session_scope(engine) as session:
            org_id = None if org is None else resolve_org(session, org).id
            key, secret = create_key(
                session, role=role, org_id=org_id, expires_days=expires_days, label=label
            )
            key_id, expires = key.id, key.expires_at
    except AppError as error:
        raise fail(error) from None
    finally:
        engine.dispose()
    typer.echo(f"created key {key_id} ({role.value}, organisation {org_id or '-'})")
    if expires is not None:
        typer.echo(f"expires {expires:%Y-%m-%d %H:%M} UTC")
    typer.echo("secret (store it now; it cannot be shown again):")
    typer.echo(secret)


@keys_app.command("ensure-admin")
def ensure_admin() -> None:
    """Bootstrap: create the first admin key unless an active one exists (for scripts/run.sh)."""
    settings = get_settings()
    engine = engine_from_settings(settings)
    with session_scope(engine) as session:
        existing = active_admin_key(session)
        if existing is not None:
            typer.echo(f"an admin key exists already (id {existing.id}, {existing.prefix}…)")
            engine.dispose()
            return
        key, secret = create_key(session, role=Role.ADMIN, org_id=None, label="bootstrap")
        key_id = key.id
    engine.dispose()
    # Kept readable only by the owner, so a local operator can find it after the log scrolls.
    secret_file = settings.var_dir / "admin-key"
    secret_file.parent.mkdir(parents=True, exist_ok=True)
    secret_file.write_text(secret + "\n")
    secret_file.chmod(0o600)
    typer.echo(f"created admin key {key_id}; secret (also in {secret_file}, mode 600):")
    typer.echo(secret)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


@keys_app.command("list")
def list_() -> None:
    """List keys: id, prefix, organisation, role, dates — never secrets."""
    engine = engine_from_settings(get_settings())
    # Plain columns rather than a rich table: never wrapped, easy to grep in scripts.
    row = "{:>5}  {:<12} {:>6}  {:<10} {:<16}  {:<16}  {:<16}  {:<16}"
    with session_scope(engine) as session:
        keys = list_keys(session)
        names = ("id", "prefix", "org", "role", "created", "expires", "revoked", "used")
        typer.echo(row.format(*names))
        for key in keys:
            typer.echo(
                row.format(
                    key.id or "-",
                    key.prefix,
                    key.org_id or "-",
                    key.role.value,
                    _when(key.created_at),
                    _when(key.expires_at),
                    _when(key.revoked_at),
                    _when(key.last_used_at),
                )
            )
    engine.dispose()


@keys_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="Key id (see `keys list`)")]) -> None:
    """Revoke a key at once; requests with it get 401 from now on."""
    engine = engine_from_settings(get_settings())
    try:
        with session_scope(engine) as session:
            key = revoke_key(session, key_id)
            prefix = key.prefix
    except AppError as error:
        raise fail(error) from None
    finally:
        engine.dispose()
    typer.echo(f"revoked key {key_id} ({prefix})")
