"""/api/v1/ipc: IPC codes with their Chinese labels from the CNIPA scheme."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from app.api.deps import PrincipalDep
from app.api.schemas.common import problem_responses
from app.api.schemas.ipc import IpcCodeOut, IpcEntryOut
from app.catalog.ipc import (
    InvalidIpcCode,
    IpcScheme,
    ipc_main_group,
    ipc_section,
    ipc_subclass,
    normalise_ipc,
)
from app.errors import NotFound, ServiceUnavailable
from app.types import Line

router = APIRouter(prefix="/ipc", tags=["ipc"])


def _scheme(request: Request) -> IpcScheme:
    scheme: IpcScheme | None = getattr(request.app.state, "ipc_scheme", None)
    if scheme is None:
        raise ServiceUnavailable("the IPC scheme is not loaded (shared data missing)")
    return scheme


def _parents(scheme: IpcScheme, code: str) -> list[IpcEntryOut]:
    """Section, class, subclass and main group above ``code`` that the scheme knows."""
    candidates: list[str] = []
    section = ipc_section(code)
    if code != section:
        candidates += [section, code[:3]]
    if len(code) > 4:
        candidates.append(ipc_subclass(code))
        main = ipc_main_group(code)
        if main != code:
            candidates.append(main)
    parents = []
    for candidate in dict.fromkeys(c for c in candidates if c != code):
        entry = scheme.entry(candidate)
        if entry is not None:
            parents.append(IpcEntryOut(code=entry.code, level=entry.level, title_zh=entry.title_zh))
    return parents


@router.get(
    "/{code:path}",
    response_model=IpcCodeOut,
    summary="Look up an IPC code",
    description="The Chinese title (中文含义) of an IPC code in the CNIPA scheme, with its "
    "parents. Accepts forms like `H01M 4/36`, `H01M4/36` or `H01M0004360000`.",
    responses=problem_responses(401, 404, 422),
)
def read_ipc(
    code: Annotated[Line, Path(max_length=40)], request: Request, _principal: PrincipalDep
) -> IpcCodeOut:
    """One IPC code with its label and parents."""
    try:
        normalised = normalise_ipc(code)
    except InvalidIpcCode as error:
        raise error.for_field("code") from None
    scheme = _scheme(request)
    entry = scheme.entry(normalised)
    if entry is None:
        raise NotFound(f"IPC code {normalised} is not in the CNIPA scheme")
    return IpcCodeOut(
        code=entry.code,
        level=entry.level,
        title_zh=entry.title_zh,
        parents=_parents(scheme, entry.code),
    )


@router.get(
    "",
    response_model=list[IpcEntryOut],
    summary="Search the IPC scheme",
    description="Codes starting with `q` (e.g. `H01M4`) or whose Chinese title contains it "
    "(e.g. `锂电池`, Traditional accepted), broadest first.",
    responses=problem_responses(401, 422),
)
def search_ipc(
    request: Request,
    _principal: PrincipalDep,
    q: Annotated[Line, Query(min_length=1, max_length=100, examples=["H01M", "电极"])],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[IpcEntryOut]:
    """Search the scheme by code prefix or title text."""
    return [
        IpcEntryOut(code=e.code, level=e.level, title_zh=e.title_zh)
        for e in _scheme(request).search(q, limit)
    ]
