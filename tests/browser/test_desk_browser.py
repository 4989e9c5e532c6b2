"""The deal workflow in a real Chromium: the deal-to-contract walk of the API test done in the
console by the enterprise, the tto and the station; a station taking a deal from assigned to
signed, handing it to a colleague on the way; a structured decline; contacts hidden before the
owner's consent and shown after."""

import re
import time

from tests.browser.conftest import BUYER_PHONE, COLLEAGUE_EMAIL, TTO_PHONE, Tab


def _open_deal(tab: Tab, deal_id: int) -> None:
    tab.page.goto(f"{tab.site.url}/deals/{deal_id}")
    tab.page.wait_for_selector("#timeline")


def _move(tab: Tab, action: str, note: str = "") -> None:
    """Click one of the deal page's move buttons (with an optional note)."""
    if note:
        tab.page.fill("form.step textarea[name=note]", note)
    with tab.page.expect_navigation():
        tab.page.click(f"button[name=action][value={action}]")


def _request_contact(tab: Tab) -> int:
    seed = tab.site.desk
    tab.sign_in(tab.site.enterprise_email)
    button = f"form[action='/needs/{seed.walk_need_id}/contact/{seed.walk_patent_id}'] button"
    deadline = time.monotonic() + 30
    while True:  # the background indexer makes the seeded records searchable shortly
        tab.page.goto(f"{tab.site.url}/needs/{seed.walk_need_id}")
        if tab.page.locator(button).count() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    tab.page.click(button)
    tab.page.wait_for_url(re.compile(r"/deals$"))
    link = tab.page.locator("table a[href^='/deals/']").first
    deal_id = int((link.get_attribute("href") or "").rsplit("/", 1)[1])
    link.click()
    tab.page.wait_for_selector("#timeline")
    return deal_id


def _contacts_hidden(tab: Tab) -> None:
    contacts = tab.page.inner_text("#contacts")
    assert "权利人同意对接后" in contacts
    assert TTO_PHONE not in tab.page.content()
    assert BUYER_PHONE not in tab.page.content()


def _station_contacts_owner(tab: Tab, deal_id: int) -> None:
    tab.sign_in(tab.site.desk.station_email)
    assert tab.page.url.endswith("/desk")  # a station's home is its case desk
    row = tab.page.locator(f"table.inbox tr:has(a[href='/deals/{deal_id}'])")
    assert "待您处理" in row.inner_text()
    tab.shot("desk-inbox")
    row.locator(f"a[href='/deals/{deal_id}']").click()
    tab.page.wait_for_selector("#timeline")
    _contacts_hidden(tab)
    _move(tab, "contact_owner", "已电话联系技术转移中心")
    assert "已联系权利人" in tab.page.inner_text("h1")


def _tto_consents(tab: Tab, deal_id: int) -> None:
    tab.sign_in(tab.site.tto_email)
    tab.page.goto(f"{tab.site.url}/deals")
    assert "待您处理" in tab.page.inner_text(f"tr:has(a[href='/deals/{deal_id}'])")
    _open_deal(tab, deal_id)
    _contacts_hidden(tab)
    tab.shot("deal-before-consent")
    _move(tab, "accept_contact", "同意对接")
    contacts = tab.page.inner_text("#contacts")
    assert BUYER_PHONE in contacts
    assert "张经理" in contacts
    tab.shot("deal-consented")


def _station_negotiates(tab: Tab, deal_id: int, email: str = "") -> None:
    tab.sign_in(email or tab.site.desk.station_email)
    _open_deal(tab, deal_id)
    assert TTO_PHONE in tab.page.inner_text("#contacts")
    _move(tab, "negotiate")
    _move(tab, "agree", "双方就许可费达成一致")
    assert "达成意向" in tab.page.inner_text("h1")


def _sign(tab: Tab, contract_type: str, amount: str, registration: str) -> None:
    form = tab.page.locator("form.sign")
    form.locator("select[name=contract_type]").select_option(contract_type)
    form.locator("input[name=amount_yuan]").fill(amount)
    form.locator("input[name=registration_number]").fill(registration)
    with tab.page.expect_navigation():
        form.locator("button").click()
    assert "已签合同" in tab.page.inner_text("h1")


def test_the_deal_walk_in_the_console(tab: Tab) -> None:
    deal_id = _request_contact(tab)
    assert "已分派服务站" in tab.page.inner_text("h1")
    _contacts_hidden(tab)
    assert tab.page.locator("button[value=contact_owner]").count() == 0  # the station's move
    _station_contacts_owner(tab, deal_id)
    _tto_consents(tab, deal_id)
    _station_negotiates(tab, deal_id)
    tab.sign_in(tab.site.enterprise_email)
    _open_deal(tab, deal_id)
    _sign(tab, "exclusive_licence", "500000", "2026330000000042")
    assert "¥500,000" in tab.page.inner_text("section.contract")
    tab.sign_in(tab.site.desk.station_email)
    _open_deal(tab, deal_id)
    _move(tab, "close")
    assert "已结束" in tab.page.inner_text("h1")
    steps = tab.page.locator("ol.timeline li strong").all_inner_texts()
    assert steps == [
        "申请对接",
        "分派服务站",
        "已联系权利人",
        "同意对接",
        "开始洽谈",
        "达成意向",
        "签订合同",
        "结案",
    ]
    # Closed: nothing left to do but write a note.
    moves = tab.page.locator("section.moves button[name=action]")
    assert [moves.nth(i).get_attribute("value") for i in range(moves.count())] == ["note"]
    tab.shot("deal-closed")


def test_a_station_takes_a_deal_from_assigned_to_signed(tab: Tab) -> None:
    deal_id = tab.site.desk.sign_deal_id
    tab.sign_in(tab.site.desk.station_email)
    _open_deal(tab, deal_id)
    assert "已分派服务站" in tab.page.inner_text("h1")
    _move(tab, "contact_owner")
    _move(tab, "negotiate")  # refused: the owner has not consented yet
    assert "has not accepted contact" in tab.page.inner_text("main")
    _tto_consents(tab, deal_id)
    tab.sign_in(tab.site.desk.station_email)
    _open_deal(tab, deal_id)
    form = tab.page.locator("form.step:has(input[value=hand_over])")
    form.locator("select[name=handler_key_id]").select_option(label="colleague")
    with tab.page.expect_navigation():
        form.locator("button").click()
    assert "colleague" in tab.page.inner_text("ol.timeline li:last-child")
    _station_negotiates(tab, deal_id, COLLEAGUE_EMAIL)
    _sign(tab, "ordinary_licence", "80000", "2026330000000077")
    assert "普通许可" in tab.page.inner_text("section.contract")
    tab.page.goto(f"{tab.site.url}/desk?mine=true")
    assert tab.page.locator(f"table.inbox a[href='/deals/{deal_id}']").count() == 1
    tab.page.goto(f"{tab.site.url}/desk/workload")
    rows = tab.page.inner_text("table.workload")
    assert "colleague" in rows
    assert "station" in rows
    tab.shot("desk-workload")
    tab.page.goto(f"{tab.site.url}/desk/coverage")
    tab.page.fill("input[name=industries]", "C, 44")
    with tab.page.expect_navigation():
        tab.page.click("button:has-text('保存')")
    assert "C, 44" in tab.page.inner_text("dl.coverage")
    tab.shot("desk-coverage")


def test_an_owner_declines_with_a_structured_reason(tab: Tab) -> None:
    deal_id = tab.site.desk.decline_deal_id
    tab.sign_in(tab.site.tto_email)
    _open_deal(tab, deal_id)
    _contacts_hidden(tab)
    form = tab.page.locator("form.decline")
    form.locator("select[name=reason]").select_option("other")
    with tab.page.expect_navigation():
        form.locator("button").click()
    assert "reason_text" in tab.page.inner_text(".errors")  # 'other' needs an explanation
    _open_deal(tab, deal_id)
    form = tab.page.locator("form.decline")
    form.locator("select[name=reason]").select_option("too_early_stage")
    form.locator("input[name=reason_text]").fill("样机尚未完成中试")
    tab.shot("deal-decline")
    with tab.page.expect_navigation():
        form.locator("button").click()
    assert "已婉拒" in tab.page.inner_text("h1")
    assert "技术成熟度不足" in tab.page.inner_text("p.decline")
    tab.sign_in(tab.site.enterprise_email)
    _open_deal(tab, deal_id)
    assert "样机尚未完成中试" in tab.page.inner_text("main")
    _contacts_hidden(tab)  # never consented: still hidden
    tab.sign_in(tab.site.desk.station_email)
    tab.page.goto(f"{tab.site.url}/desk/overdue")
    tab.shot("desk-overdue")
