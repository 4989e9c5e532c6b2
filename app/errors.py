"""One error family for the whole application; the API renders it as RFC 9457 problem+json."""

from typing import Any


class AppError(Exception):
    """Base of every expected error: carries an HTTP status, a stable type slug and a detail."""

    status: int = 500
    type_slug: str = "internal-error"
    title: str = "Internal error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = extra or {}


class BadRequest(AppError):
    """The request cannot be processed as sent."""

    status = 400
    type_slug = "bad-request"
    title = "Bad request"


class Unauthorized(AppError):
    """No or invalid credentials."""

    status = 401
    type_slug = "unauthorized"
    title = "Unauthorized"


class Forbidden(AppError):
    """Authenticated, but the role or organisation may not do this."""

    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    """The resource does not exist (or is not visible to the caller)."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class Conflict(AppError):
    """The request conflicts with the current state (duplicates, illegal transitions)."""

    status = 409
    type_slug = "conflict"
    title = "Conflict"


class ValidationFailed(AppError):
    """Input is well-formed but breaks a domain rule; ``errors`` names the fields."""

    status = 422
    type_slug = "validation-error"
    title = "Validation failed"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail, extra={"errors": errors or []})


class InvalidValue(ValidationFailed):
    """One value breaks its rule: ``field`` says which (the 422's one error), ``reason`` why.

    Domain parsers raise it with their usual field; a caller that knows the input under
    another name re-raises ``error.for_field(name)``. ``str()`` is the reason, so importers
    can report it per row.
    """

    default_field = "value"

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        name = field or self.default_field
        super().__init__(f"invalid {name}", errors=[{"field": name, "message": reason}])
        self.field = name
        self.reason = reason

    def __str__(self) -> str:
        return self.reason

    def for_field(self, field: str) -> "InvalidValue":
        """The same error reported under ``field``."""
        return type(self)(self.reason, field=field)


class RateLimited(AppError):
    """Too many requests for this key; ``retry_after`` seconds until the next is allowed."""

    status = 429
    type_slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after})
        self.retry_after = retry_after


class ServiceUnavailable(AppError):
    """A dependency (database, index, model) is not ready."""

    status = 503
    type_slug = "unavailable"
    title = "Service unavailable"
