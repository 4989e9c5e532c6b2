"""Progress lines: rate, elapsed time and ETA, throttled per stage."""

from app.progress import RateReporter, format_duration, progress_line


def test_durations_are_short():
    assert format_duration(7.4) == "7s"
    assert format_duration(185) == "3m05s"
    assert format_duration(3720) == "1h02m"


def test_line_has_rate_elapsed_and_eta():
    line = progress_line("patents", 500, 2000, 50.0)
    assert line == "  patents: 500/2,000 (10.0/s, elapsed 50s, ETA 2m30s)"
    assert progress_line("patents", 2000, 2000, 100.0).endswith("elapsed 1m40s, done)")


def test_reporter_starts_the_clock_at_zero_and_throttles():
    now = [0.0]
    lines: list[str] = []
    report = RateReporter(lines.append, every=5.0, clock=lambda: now[0])
    report("scheme", 0, 100)
    now[0] = 10.0
    report("scheme", 20, 100)
    now[0] = 11.0
    report("scheme", 30, 100)  # within 5 s of the last line: not printed
    now[0] = 20.0
    report("scheme", 100, 100)  # the last one always is
    assert lines == [
        "  scheme: 0/100 (starting)",
        "  scheme: 20/100 (2.0/s, elapsed 10s, ETA 40s)",
        "  scheme: 100/100 (5.0/s, elapsed 20s, done)",
    ]


def test_a_stage_done_at_once_says_it_was_reused():
    lines: list[str] = []
    RateReporter(lines.append)("scheme", 8115, 8115)
    assert lines == ["  scheme: 8,115/8,115 (already computed: reused)"]
