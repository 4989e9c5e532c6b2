"""Request size limits, enforced while the body streams in (pure ASGI).

A request whose Content-Length is over the limit is answered 413 before anything reads it;
one without (chunked) is counted as it arrives and cut off at the limit. Upload routes get
the upload limit, everything else the JSON limit. Authentication of uploads runs before
their body is read (see ``routes.imports``), so an unauthenticated upload costs one header.
"""

import json
from collections.abc import Collection

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.problems import PROBLEM_BASE, PROBLEM_MEDIA_TYPE

TOO_LARGE = 413


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit.

    An HTTPException, because the framework re-raises those from body parsing (other
    exceptions there become a 400); the problem handler renders it as problem+json.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(TOO_LARGE, detail=f"the request body is larger than {limit} bytes")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _problem(scope: Scope, limit: int) -> list[Message]:
    body = {
        "type": PROBLEM_BASE + "too-large",
        "title": "Content too large",
        "status": TOO_LARGE,
        "detail": f"the request body is larger than {limit} bytes",
        "instance": scope.get("path", ""),
    }
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(payload)).encode()),
        (b"connection", b"close"),
    ]
    return [
        {"type": "http.response.start", "status": TOO_LARGE, "headers": headers},
        {"type": "http.response.body", "body": payload},
    ]


class BodyLimitMiddleware:
    """413 for bodies over ``json_limit`` (``upload_limit`` on ``upload_paths``)."""

    def __init__(
        self, app: ASGIApp, *, json_limit: int, upload_limit: int, upload_paths: Collection[str]
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse by Content-Length at once, else count the body as it is received."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope.get("path") in self.upload_paths else self.json_limit
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            for message in _problem(scope, limit):
                await send(message)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)
