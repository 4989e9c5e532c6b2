"""/docs and /redoc work offline: every asset they name is local and served."""

import re

import pytest
from fastapi.testclient import TestClient

# src="…", href="…" and the url: '…' the pages pass to Swagger UI / ReDoc.
_URL = re.compile(
    r"""(?:src|href)\s*=\s*["']([^"']+)["']"""
    r"""|url:\s*['"]([^'"]+)['"]"""
    r"""|spec-url=["']([^"']+)["']"""
)


def _asset_urls(html: str) -> list[str]:
    return [next(u for u in match if u) for match in _URL.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_name_only_local_assets_that_are_served(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    urls = _asset_urls(response.text)
    assert any(u.endswith(".js") for u in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/"), f"{page} loads {url}"
        assert not url.startswith("//"), f"{page} loads {url}"
        assert client.get(url).status_code == 200, url
    assert "fonts.googleapis" not in response.text
    assert "cdn." not in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_swagger_ui_disables_the_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_oauth2_redirect_page_is_served(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 200
