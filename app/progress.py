"""Progress lines for long-running commands: done/total with rate, elapsed time and ETA.

One ``RateReporter`` per command keeps a clock per stage, so a caller that only knows
``(stage, done, total)`` (index rebuilds, encoders, model fetch) gets the rate and ETA for free.
Lines are throttled: at most one per ``every`` seconds per stage, plus the last one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def format_duration(seconds: float) -> str:
    """``1h02m``, ``3m05s`` or ``12s``: short enough for a progress line."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def progress_line(stage: str, done: int, total: int, elapsed: float) -> str:
    """``stage: done/total (rate/s, elapsed …, ETA …)``; the ETA is left out until known."""
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [f"{rate:,.1f}/s", f"elapsed {format_duration(elapsed)}"]
    if done >= total:
        parts.append("done")
    elif rate > 0:
        parts.append(f"ETA {format_duration((total - done) / rate)}")
    return f"  {stage}: {done:,}/{total:,} ({', '.join(parts)})"


def _stderr(line: str) -> None:
    """Default sink: stderr, flushed, so stdout stays parseable."""
    print(line, file=sys.stderr, flush=True)


@dataclass
class RateReporter:
    """A ``(stage, done, total)`` callback printing throttled lines with rate, elapsed and ETA."""

    echo: Callable[[str], None] = _stderr
    every: float = 5.0
    clock: Callable[[], float] = time.monotonic
    _started: dict[str, float] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict)

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Report ``done`` of ``total`` for ``stage`` (its clock starts at its first report)."""
        now = self.clock()
        if done == 0 and total > 0:
            # Announced before its first batch: the clock starts now, so the first rate is honest.
            self._started[stage] = self._last[stage] = now
            self.echo(f"  {stage}: 0/{total:,} (starting)")
            return
        finished = done >= total
        if finished and stage not in self._started:
            # Done at its first report: nothing was computed (a stored result was reused).
            self.echo(f"  {stage}: {done:,}/{total:,} (already computed: reused)")
            return
        start = self._started.setdefault(stage, now)
        if not finished and now - self._last.get(stage, float("-inf")) < self.every:
            return
        self._last[stage] = now
        self.echo(progress_line(stage, done, total, now - start))
        if finished:
            # A stage that runs again (a second rebuild) starts a new clock.
            self._started.pop(stage, None)
            self._last.pop(stage, None)
