"""The government dashboard and platform administration in Chromium: the page's numbers and its
XLSX export equal the figures API's for the same filters, the SVG charts draw offline, and an
admin creates an organisation, is refused a duplicate name, merges a duplicate and finds the
merge in the audit log."""

import io
from pathlib import Path
from typing import Any

import httpx
from openpyxl import load_workbook

from tests.browser.conftest import Tab

FIGURES = ("idle_patents", "patents_matched", "contacts_requested", "signed_contracts",
           "contract_value_yuan", "open_licence_declarations", "licences_taken")  # fmt: skip
# Draw one SVG into a canvas and count the pixels that are not blank: what a reader would see.
_INKED = """svg => new Promise(done => {
  const image = new Image();
  image.onload = () => {
    const box = svg.getBoundingClientRect();
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(box.width); canvas.height = Math.ceil(box.height);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const [red, green, blue, alpha] = pixels.slice(i, i + 4);
      if (alpha > 0 && (red < 230 || green < 230 || blue < 230)) inked++;
    }
    done({inked: inked, total: pixels.length / 4});
  };
  image.onerror = () => done({inked: -1, total: 0});
  const markup = new XMLSerializer().serializeToString(svg);
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(markup);
})"""


def _api(tab: Tab, query: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{tab.site.url}/api/v1/figures?{query}",
        headers={"X-API-Key": tab.site.dash.admin_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def _table(tab: Tab) -> dict[str, dict[str, str]]:
    """The figures table as {row key: {figure: text without separators}}."""
    rows: dict[str, dict[str, str]] = tab.page.eval_on_selector_all(
        "#figures-table tbody tr[data-key]",
        """rows => Object.fromEntries(rows.map(row => [row.dataset.key, Object.fromEntries(
             [...row.querySelectorAll('td[data-figure]')].map(
               td => [td.dataset.figure, td.textContent.replaceAll(',', '').trim()]))]))""",
    )
    return rows


def _filter(tab: Tab) -> None:
    tab.page.goto(f"{tab.site.url}/dashboard")
    tab.page.fill("input[name=region]", "33")
    tab.page.fill("input[name=month_from]", "2026-01")
    tab.page.fill("input[name=month_to]", "2026-12")
    tab.page.select_option("select[name=group_by]", "ipc_section")
    tab.page.click("#dash-filters button")
    tab.page.wait_for_url("**/dashboard?*")


def test_the_dashboard_shows_the_figures_api_numbers(tab: Tab) -> None:
    tab.sign_in(tab.site.dash.admin_email)
    _filter(tab)
    query = tab.page.url.split("?", 1)[1]
    assert "region=33" in query
    expected = {row["key"]: row for row in _api(tab, query)}
    shown = _table(tab)
    assert sorted(shown) == sorted(expected)
    for key, row in expected.items():
        for name in FIGURES:
            assert shown[key][name] == str(row[name]), (key, name)
    totals = tab.page.eval_on_selector_all(
        "#totals .kpi[data-figure]",
        "cards => Object.fromEntries(cards.map(c => [c.dataset.figure, "
        "c.querySelector('.kpi-value').textContent.replaceAll(',', '')]))",
    )
    for name in FIGURES:
        assert totals[name] == str(sum(row[name] for row in expected.values())), name
    tab.shot("dashboard")


def test_the_charts_draw_offline(tab: Tab) -> None:
    tab.sign_in(tab.site.dash.admin_email)
    tab.page.goto(f"{tab.site.url}/dashboard")
    charts = tab.page.query_selector_all("svg.chart")
    names = [chart.get_attribute("data-chart") for chart in charts]
    assert names == ["trend", "funnel", "region", "industry", "value"]
    for name, chart in zip(names, charts, strict=True):
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 200, name
        assert box["height"] > 20, name
        assert chart.eval_on_selector_all("polyline, rect", "marks => marks.length") > 0, name
        drawn = chart.evaluate(_INKED)
        assert drawn["inked"] > 0.005 * drawn["total"], (name, drawn)
        if tab.site.shots is not None:
            chart.screenshot(path=str(tab.site.shots / f"chart-{name}.png"))
    tab.page.goto(f"{tab.site.url}/dashboard/report?month=2026-03")
    assert "2026-03" in tab.page.inner_text("h1")
    tab.page.emulate_media(media="print")
    assert not tab.page.is_visible("header.top")  # the print style sheet hides the chrome
    assert tab.page.is_visible("svg.chart[data-chart=trend]")
    tab.shot("dashboard-report")


def test_the_xlsx_export_has_the_api_numbers(tab: Tab) -> None:
    tab.sign_in(tab.site.dash.admin_email)
    _filter(tab)
    query = tab.page.url.split("?", 1)[1]
    with tab.page.expect_download() as download:
        tab.page.click("text=导出 Excel（XLSX）")
    assert download.value.suggested_filename == "figures.xlsx"
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    for sheet, by in (("地区", "region"), ("IPC 部", "ipc_section"), ("月份", "month")):
        rows = list(book[sheet].iter_rows(values_only=True))
        header = list(rows[0])
        expected = {row["key"]: row for row in _api(tab, f"{query}&group_by={by}")}
        assert [r[0] for r in rows[1:]] == list(expected), sheet
        for cells in rows[1:]:
            row = expected[cells[0]]
            for name in FIGURES:
                column = header.index(_HEADINGS[name])
                assert cells[column] == row[name], (sheet, cells[0], name)


_HEADINGS = {
    "idle_patents": "闲置专利", "patents_matched": "已匹配专利", "contacts_requested": "对接申请",
    "signed_contracts": "签订合同", "contract_value_yuan": "涉专利技术合同成交额（元）",
    "open_licence_declarations": "开放许可声明", "licences_taken": "开放许可实施",
}  # fmt: skip


def _new_org(tab: Tab, name: str, email: str, uscc: str = "") -> None:
    form = tab.page.locator("#new-org")
    form.locator("select[name=kind]").select_option("university")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=region]").fill("330106")
    form.locator("input[name=uscc]").fill(uscc)
    form.locator("input[name=admin_email]").fill(email)
    form.locator("input[name=admin_name]").fill("首位管理员")
    form.locator("button").click()
    tab.page.wait_for_load_state()


def test_admin_creates_refuses_a_duplicate_merges_and_audits(tab: Tab) -> None:
    seed = tab.site.dash
    tab.sign_in(seed.admin_email)
    tab.page.goto(f"{tab.site.url}/admin/orgs")
    _new_org(tab, "浏览器示例大学", "first@browser.edu.cn", "91330100716105852F")
    assert "first@browser.edu.cn" in tab.page.inner_text(".notice")
    assert "已校验" in tab.page.inner_text("#org-list")
    tab.shot("admin-orgs")
    tab.page.goto(f"{tab.site.url}/admin/orgs")
    _new_org(tab, "浏览器示例大学 ", "second@browser.edu.cn")
    assert "already named" in tab.page.inner_text("main")
    tab.page.goto(f"{tab.site.url}/admin/orgs?duplicates=true")
    flagged = tab.page.inner_text("#org-list")
    assert f"疑似重复：{seed.twin_id}" in flagged
    tab.page.click(f"#org-list a[href='/admin/orgs/{seed.kept_id}']")
    tab.page.select_option("#merge-form select[name=duplicate]", str(seed.twin_id))
    tab.page.once("dialog", lambda dialog: dialog.accept())
    tab.page.click("#merge-form button")
    tab.page.wait_for_url(f"**/admin/orgs/{seed.kept_id}?merged={seed.twin_id}")
    assert f"#{seed.twin_id}" in tab.page.inner_text(".notice")
    tab.shot("admin-merged")
    tab.page.goto(f"{tab.site.url}/admin/audit")
    tab.page.select_option("#audit-filters select[name=action]", "org_merged")
    tab.page.click("#audit-filters button")
    tab.page.wait_for_url("**/admin/audit?*")
    actions = tab.page.eval_on_selector_all(
        "#audit tbody tr[data-action]", "rows => rows.map(r => r.dataset.action)"
    )
    assert actions == ["org_merged"]
    assert f"merged_id={seed.twin_id}" in tab.page.inner_text("#audit")
    tab.shot("admin-audit")
