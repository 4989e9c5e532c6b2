"""Shared response shapes: pages and problem documents."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; pass ``next_cursor`` as ``cursor`` to get the next one."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Opaque cursor of the next page; null on the last page."
    )


class FieldError(BaseModel):
    """One invalid field."""

    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str = Field(examples=["/problems/not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["patent 42 does not exist"])
    instance: str = Field(examples=["/api/v1/patents/42"])
    request_id: str | None = None
    errors: list[FieldError] | None = Field(
        default=None, description="Present on 422: the fields at fault."
    )
    retry_after: int | None = Field(default=None, description="Present on 429: seconds to wait.")


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` entries documenting problem+json for the given statuses."""
    descriptions = {
        401: "Missing, invalid, expired or revoked API key.",
        403: "The caller's role or organisation may not do this.",
        404: "No such resource (or not visible to the caller).",
        409: "Conflicts with existing data, e.g. a duplicate application number.",
        422: "Invalid input; `errors` names the fields.",
        429: "Rate limit exceeded; see the Retry-After header.",
    }
    return {
        status: {
            "model": Problem,
            "description": descriptions.get(status, "Error"),
            "content": {"application/problem+json": {}},
        }
        for status in statuses
    }
