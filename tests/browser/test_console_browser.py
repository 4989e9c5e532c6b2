"""The workbenches' main flows in a real Chromium against a live server."""

import re

from app.catalog.appno import compute_check_char
from tests.browser.conftest import Tab

RENDER_MS = 120_000


def _appno(body: str, *, wrong: bool = False) -> str:
    check = compute_check_char(body)
    if wrong:
        check = "0" if check != "0" else "1"
    return f"{body}.{check}"


def _bad_row_csv() -> str:
    # Row 3 (the header is row 1) has a wrong check character: it is rejected, the rest load.
    return (
        "申请号,专利名称,分类号,申请日,法律状态\n"
        f"{_appno('201510000001')},一种太阳能光伏板清洗机器人,H02S 40/10,2015-06-01,有效\n"
        f"{_appno('201510000002', wrong=True)},校验位错误的专利,H01M 4/36,2015-06-01,有效\n"
        f"{_appno('201510000003')},一种风能LED路灯,F21S 9/04,2015-07-24,有效\n"
    )


def test_docs_and_redoc_render_offline(tab: Tab) -> None:
    tab.page.goto(f"{tab.site.url}/docs")
    # Rendering the whole OpenAPI document took 40 s on two cores shared with other work.
    tab.page.wait_for_selector(".swagger-ui .info .title", timeout=RENDER_MS)
    assert "patentmatch API" in tab.page.inner_text(".swagger-ui .info .title")
    tab.shot("docs", full_page=False)
    tab.page.goto(f"{tab.site.url}/redoc")
    tab.page.wait_for_selector("h1:has-text('patentmatch API')", timeout=RENDER_MS)
    tab.shot("redoc", full_page=False)


def test_tto_imports_a_file_and_sees_the_bad_row(tab: Tab, tmp_path) -> None:
    upload = tmp_path / "portfolio.csv"
    upload.write_text(_bad_row_csv(), encoding="utf-8")
    tab.sign_in(tab.site.tto_email)
    assert tab.page.url.endswith("/portfolio")
    tab.shot("portfolio")
    tab.page.click("text=批量导入 >> nth=0")
    tab.shot("import")
    tab.page.set_input_files("input[name=file]", str(upload))
    tab.page.click("button:has-text('上传并导入')")
    tab.page.wait_for_selector("text=已完成", timeout=30_000)
    rows = tab.page.inner_text("table.issues tbody").splitlines()
    assert len(rows) == 1
    assert rows[0].startswith("3\tapplication_number")
    assert "check character" in rows[0]
    tab.shot("import-report")
    with tab.page.expect_download() as download:
        tab.page.click("text=下载逐行报告（CSV）")
    assert download.value.suggested_filename.endswith("-report.csv")


def test_declaration_over_the_fee_cap_is_refused_then_accepted(tab: Tab) -> None:
    tab.sign_in(tab.site.tto_email)
    tab.page.goto(f"{tab.site.url}/patents/{tab.site.patent_id}")
    assert "作为活性物质" in tab.page.inner_text("ul.ipc")  # the CNIPA label of H01M 4/36
    tab.shot("patent")
    tab.page.click("text=声明开放许可")
    assert "专利已授权且在保护期内" in tab.page.inner_text("ul.checks")
    tab.page.select_option("select[name=payment_mode]", "lump_sum")
    tab.page.fill("input[name=fee_yuan]", "30000000")
    tab.page.fill("input[name=contact_name]", "王老师")
    tab.page.fill("input[name=contact_phone]", "0571-87951111")
    assert "fee >" in tab.page.inner_text("#declare-preview")  # the plain-JS warning
    tab.shot("declare")
    tab.page.click("button:has-text('提交声明')")
    errors = tab.page.inner_text(".errors")
    assert "fee_yuan" in errors
    assert "20,000,000" in errors
    tab.shot("declare-refused")
    tab.page.fill("input[name=fee_yuan]", "50000")
    tab.page.click("button:has-text('提交声明')")
    tab.page.wait_for_url(re.compile(rf"/patents/{tab.site.patent_id}$"))
    assert "开放许可" in tab.page.inner_text("dl.facts >> nth=1")
    tab.page.goto(f"{tab.site.url}/advice")
    tab.shot("advice")
    tab.page.goto(f"{tab.site.url}/team")
    tab.page.fill("form[action='/team/invite'] input[name=email]", "colleague@example.edu.cn")
    tab.page.fill("form[action='/team/invite'] input[name=display_name]", "陈老师")
    tab.page.click("button:has-text('生成邀请链接')")
    assert "/welcome?token=" in tab.page.inner_text(".notice")
    tab.shot("team")


def test_enterprise_posts_a_need_sees_matches_and_requests_contact(tab: Tab) -> None:
    tab.sign_in(tab.site.enterprise_email)
    assert tab.page.url.endswith("/needs")
    tab.page.click("text=发布新需求")
    tab.page.fill("input[name=title]", "动力电池高镍正极材料循环寿命提升")
    tab.page.fill(
        "textarea[name=description]",
        "需提升高镍三元正极材料在高温下的循环稳定性，欢迎许可或合作开发。",
    )
    tab.page.fill("input[name=budget_max]", "2000000")
    tab.page.check("input[value=licence]")
    tab.page.check("input[value=open_licence]")
    tab.shot("need-form")
    tab.page.click("button:has-text('保存')")
    tab.page.click("button:has-text('发布')")
    table = tab.page.inner_text("table.matches")
    assert "一种高镍三元正极材料的表面包覆方法" in table
    assert "%" in table
    tab.shot("need-matches")
    tab.page.click("table.matches button:has-text('申请对接') >> nth=0")
    tab.page.wait_for_url(re.compile(r"/deals$"))
    assert "一种高镍三元正极材料的表面包覆方法" in tab.page.inner_text("table")
    tab.shot("deals")
    tab.page.click("text=English")
    assert "Deals" in tab.page.inner_text("h1")
    tab.page.click("text=简体中文")


def test_tto_withdraws_the_declaration_with_a_published_reason(tab: Tab) -> None:
    tab.sign_in(tab.site.tto_email)
    tab.page.goto(f"{tab.site.url}/patents/{tab.site.patent_id}")
    if not tab.page.locator("form.withdraw").count():  # run alone: declare it first
        tab.page.click("text=声明开放许可")
        tab.page.select_option("select[name=payment_mode]", "lump_sum")
        tab.page.fill("input[name=fee_yuan]", "50000")
        tab.page.fill("input[name=contact_name]", "王老师")
        tab.page.fill("input[name=contact_phone]", "0571-87951111")
        tab.page.click("button:has-text('提交声明')")
    assert "已实施许可数" in tab.page.inner_text("#declaration")
    tab.page.fill("form.withdraw textarea[name=reason]", "拟独占许可给合作企业")
    tab.shot("withdraw")
    tab.page.click("button:has-text('撤回开放许可声明')")
    tab.page.wait_for_url(re.compile(rf"/patents/{tab.site.patent_id}$"))
    history = tab.page.inner_text("table.compact")
    assert "已撤回" in history
    assert "拟独占许可给合作企业" in history
    assert not tab.page.locator("#declaration").count()


def test_sign_in_page_renders(tab: Tab) -> None:
    tab.page.goto(f"{tab.site.url}/")
    assert "/signin" in tab.page.url
    tab.shot("signin")
