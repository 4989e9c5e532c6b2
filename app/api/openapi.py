"""The OpenAPI document as the API behaves: every error response is application/problem+json.

FastAPI documents error responses as ``application/json`` (its own 422 with its own schema);
our one handler answers every error as RFC 9457 ``application/problem+json`` with the
``Problem`` schema, so the document is rewritten once, when it is first built.
"""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from app.api.problems import PROBLEM_MEDIA_TYPE

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# FastAPI's own validation-error schemas, replaced by Problem.
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _is_error(status: str) -> bool:
    return status[:1] in {"4", "5"}


def problems_everywhere(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite every 4xx/5xx response of ``schema`` to problem+json with the Problem schema."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if _is_error(str(status)):
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": dict(_PROBLEM_REF)}}
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_SCHEMAS:
        schemas.pop(name, None)
    return schema


def install_problem_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the rewritten document (built once, then cached)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = problems_everywhere(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
