"""When survey emails may leave: sending windows in the customer's time zone and the
day a daily cap counts. Pure rules, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class SendWindow:
    """When a survey's emails may leave, in the customer's local time: on `days` (0 is
    Monday), from `start` until `end` (either open-ended when empty)."""

    days: frozenset[int] = frozenset(range(7))
    start: time | None = None
    end: time | None = None

    @property
    def is_always_open(self) -> bool:
        return len(self.days) == 7 and self.start is None and self.end is None

    def next_open(self, moment: datetime, *, zone: ZoneInfo) -> datetime:
        """The first moment at or after `moment` inside the window, in UTC. Days are the
        customer's calendar days; on a day the clocks change, a time the clock skips
        stands for the same time an hour later."""
        if self.is_always_open or not self.days:
            return moment
        local_day = moment.astimezone(zone).date()
        for offset in range(8):
            day = local_day + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = datetime.combine(day, self.start or time.min, tzinfo=zone).astimezone(UTC)
            if self.end is None:
                closes = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
            else:
                closes = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
            if moment < closes:
                return max(opens, moment.astimezone(UTC))
        return moment


def start_of_next_day(moment: datetime, *, zone: ZoneInfo) -> datetime:
    """Midnight after `moment` in `zone`, in UTC: when a daily cap opens again."""
    tomorrow = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=zone).astimezone(UTC)


def day_bounds(moment: datetime, *, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar day in `zone` that `moment` falls on, as [start, end) in UTC."""
    today = moment.astimezone(zone).date()
    start = datetime.combine(today, time.min, tzinfo=zone).astimezone(UTC)
    return start, start_of_next_day(moment, zone=zone)
