"""Server-side SVG charts: round axis tops, escaped labels, an empty state, one mark per value."""

from app.console.charts import Series, bar_chart, funnel, line_chart, nice_ceiling


def test_axis_tops_have_round_quarters() -> None:
    assert [nice_ceiling(v) for v in (0, 3, 5, 9, 17, 800_000, 1_050_000)] == [
        4, 4, 8, 10, 20, 800_000, 2_000_000,
    ]  # fmt: skip


def test_labels_are_escaped_and_marks_drawn() -> None:
    svg = bar_chart("region", "按地区", [("<script>", 3), ("33", 1)], empty="暂无数据")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.count("<rect") == 2
    line = line_chart("trend", "趋势", ["2026-01", "2026-02"], [Series("对接", [1, 2])], empty="")
    assert line.count("<circle") == 2
    assert "<polyline" in line


def test_no_data_says_so() -> None:
    assert "暂无数据" in line_chart("trend", "趋势", [], [], empty="暂无数据")
    assert "暂无数据" in funnel("funnel", "漏斗", [("对接申请", 0)], empty="暂无数据")
    assert "<rect" not in bar_chart("industry", "按行业", [], empty="暂无数据")
