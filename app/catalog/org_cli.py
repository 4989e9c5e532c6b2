"""CLI: ``patentmatch orgs create|list|show`` — the organisations imports and keys belong to."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlmodel import Session

from app.catalog.enums import OrgKind
from app.catalog.models import Organisation
from app.catalog.orgs import NewOrg, create_org, list_orgs, resolve_org
from app.cli_errors import fail
from app.db import engine_from_settings
from app.errors import AppError
from app.settings import get_settings

orgs_app = typer.Typer(
    help="Organisations (universities, enterprises, stations …): create, list, show.",
    no_args_is_help=True,
)

OrgRef = Annotated[str, typer.Argument(help="Organisation id or its exact (unique) name")]
_ROW = "{:>5}  {:<18} {:<6}  {:<18}  {}"


@contextmanager
def _session() -> Iterator[Session]:
    """A session on the configured database; expected errors become one line and exit 1."""
    engine = engine_from_settings(get_settings())
    try:
        with Session(engine) as session:
            yield session
    except AppError as error:
        raise fail(error) from None
    finally:
        engine.dispose()


@orgs_app.command("create")
def create(
    kind: Annotated[OrgKind, typer.Option(help="university, research_institute, enterprise, …")],
    name: Annotated[str, typer.Option(help="Full name (unique), e.g. 浙江大学技术转移中心")],
    region: Annotated[str | None, typer.Option(help="GB/T 2260 code, e.g. 330106")] = None,
    uscc: Annotated[str | None, typer.Option(help="统一社会信用代码 (check digit checked)")] = None,
) -> None:
    """Create an organisation and print its id (the last line, for scripts)."""
    with _session() as session:
        org = create_org(session, NewOrg(kind, name, region, uscc))
        session.commit()
        typer.echo(f"created organisation {org.id}: {org.name} ({org.kind.value})")
        typer.echo(str(org.id))


@orgs_app.command("list")
def list_(
    kind: Annotated[OrgKind | None, typer.Option(help="Only organisations of this kind")] = None,
) -> None:
    """List organisations: id, kind, region, USCC, name."""
    with _session() as session:
        orgs = list_orgs(session, kind)
        typer.echo(_ROW.format("id", "kind", "region", "uscc", "name"))
        for org in orgs:
            region, uscc = org.region or "-", org.uscc or "-"
            typer.echo(_ROW.format(org.id or "-", org.kind.value, region, uscc, org.name))


@orgs_app.command("show")
def show(ref: OrgRef) -> None:
    """Show one organisation (by id or name), contact fields included."""
    with _session() as session:
        org = resolve_org(session, ref)
        for label, value in _fields(org):
            typer.echo(f"{label:<20} {value}")


def _fields(org: Organisation) -> list[tuple[str, object]]:
    return [
        ("id", org.id),
        ("kind", org.kind.value),
        ("name", org.name),
        ("region", org.region or "-"),
        ("uscc", org.uscc or "-"),
        ("contact_person", org.contact_person or "-"),
        ("contact_phone", org.contact_phone or "-"),
        ("contact_email", org.contact_email or "-"),
        ("coverage_regions", ", ".join(org.coverage_regions) or "-"),
        ("coverage_industries", ", ".join(org.coverage_industries) or "-"),
        ("created_at", f"{org.created_at:%Y-%m-%d %H:%M}"),
    ]
