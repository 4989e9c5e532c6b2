"""Withdrawing an open-licence declaration from the console: a reason is required and published,
only the owner's TTO may do it, and a licence already taken stays valid."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.catalog.enums import ConversionStatus, OrgKind
from app.catalog.models import Patent
from app.licensing.models import DeclarationStatus, OpenLicenceDeclaration, PatentLicence
from app.settings import Settings
from tests.console.conftest import make_person, sign_in
from tests.console.test_console_workbenches import _patent


def _declare(client: TestClient, csrf: str, patent_id: int) -> int:
    made = client.post(
        f"/patents/{patent_id}/declare",
        data={
            "csrf": csrf,
            "payment_mode": "lump_sum",
            "fee_yuan": "20000",
            "term_years": "3",
            "contact_name": "赵老师",
            "contact_phone": "0571-87950000",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    form = re.search(
        r'action="/open-licences/(\d+)/withdraw"', client.get(made.headers["location"]).text
    )
    assert form, "the owner's patent page offers the withdrawal form"
    return int(form.group(1))


def test_owner_withdraws_with_a_published_reason_and_the_licence_stays(
    client: TestClient, api_engine: Engine, api_settings: Settings
) -> None:
    owner = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "wd-own@example.edu.cn")
    csrf = sign_in(client, owner)
    patent_id = _patent(api_engine, owner.org_id, "一种固态电解质薄膜及其制备方法")
    declaration_id = _declare(client, csrf, patent_id)

    buyer = make_person(api_engine, api_settings, OrgKind.ENTERPRISE, "wd-buy@example.cn")
    buyer_csrf = sign_in(client, buyer)
    taken = client.post(
        f"/open-licences/{declaration_id}/take",
        data={"csrf": buyer_csrf, "intended_use": "中试"},
        follow_redirects=False,
    )
    assert taken.status_code == 303
    # An enterprise sees the declaration but no withdrawal form.
    assert "/withdraw" not in client.get(f"/patents/{patent_id}").text

    other = make_person(api_engine, api_settings, OrgKind.UNIVERSITY, "wd-other@example.edu.cn")
    other_csrf = sign_in(client, other)
    url = f"/open-licences/{declaration_id}/withdraw"
    assert client.post(url, data={"csrf": other_csrf, "reason": "不是我的"}).status_code == 403

    csrf = sign_in(client, owner)
    blank = client.post(url, data={"csrf": csrf, "reason": "  "})
    assert blank.status_code == 422
    assert "reason" in blank.text
    assert client.post(url, data={"reason": "无令牌"}).status_code == 403  # no CSRF token
    done = client.post(url, data={"csrf": csrf, "reason": "拟独占许可给合作企业"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    page = client.get(f"/patents/{patent_id}").text
    assert "已撤回" in page
    assert "拟独占许可给合作企业" in page
    assert "/withdraw" not in page
    again = client.post(url, data={"csrf": csrf, "reason": "再撤一次"})
    assert again.status_code == 409

    # Announced: the API's public record carries the time and reason.
    with Session(api_engine) as session:
        declaration = session.get(OpenLicenceDeclaration, declaration_id)
        assert declaration is not None
        assert declaration.status is DeclarationStatus.WITHDRAWN
        assert declaration.withdrawn_at is not None
        assert declaration.withdrawal_reason == "拟独占许可给合作企业"
        # The licence taken before the withdrawal continues; the patent counts as licensed.
        licences = session.exec(
            select(PatentLicence).where(PatentLicence.declaration_id == declaration_id)
        ).all()
        assert [x.licensee_org_id for x in licences] == [buyer.org_id]
        patent = session.get(Patent, patent_id)
        assert patent is not None
        assert patent.conversion_status is ConversionStatus.LICENSED

    # No new licences under a withdrawn declaration.
    buyer_csrf = sign_in(client, buyer)
    late = client.post(
        f"/open-licences/{declaration_id}/take", data={"csrf": buyer_csrf, "intended_use": "量产"}
    )
    assert late.status_code == 409
