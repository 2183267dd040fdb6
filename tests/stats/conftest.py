"""Statistics count complete months only (the current month never: issue 10). The tests
here register their people now, through the real services; so that they are counted,
the statistics read the app's clock one month on, as they will once this month is over.
A test of the current month itself asks for `real_month` (the clock as it is)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from fieldapp import clock
from fieldapp.stats import dimensions


def next_month_start(now: datetime) -> datetime:
    """Noon on the first day of the month after `now`'s."""
    first = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


@pytest.fixture(autouse=True)
def month_is_over(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The statistics' view of the clock, moved to the next month (only theirs: sign-in,
    deadlines and the rest keep the real clock). Returns the moment they see."""
    moment = next_month_start(clock.now())
    monkeypatch.setattr(dimensions, "clock", SimpleNamespace(now=lambda: moment))
    return moment


@pytest.fixture
def real_month(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The statistics read the real clock: the current month is not over."""
    monkeypatch.setattr(dimensions, "clock", clock)
    return datetime.now(UTC)
