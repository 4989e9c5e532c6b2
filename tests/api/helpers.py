"""Helpers shared by the API tests."""

import itertools
import random
from typing import Any

from app.catalog.appno import compute_check_char

_serials = itertools.count(random.randrange(1_000_000, 8_000_000))


def new_appno(year: int = 2015, type_digit: str = "1") -> str:
    """A fresh, valid CN application number (unique within the run)."""
    body = f"{year}{type_digit}{next(_serials):07d}"
    return f"{body}.{compute_check_char(body)}"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem of ``status``; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    for member in ("type", "title", "detail", "instance"):
        assert isinstance(body[member], str)
        assert body[member]
    return body


def patent_body(**overrides: Any) -> dict[str, Any]:
    """A valid patent create request."""
    body: dict[str, Any] = {
        "application_number": new_appno(),
        "title": "一种锂离子电池正极材料及其制备方法",
        "ipc_codes": ["H01M4/36"],
        "filing_date": "2015-03-01",
        "legal_status": "granted",
    }
    body.update(overrides)
    return body
