"""Calendar rules of sending: working days, quiet hours and the learner's day, in a time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SATURDAY = 5


@dataclass(frozen=True)
class QuietWindow:
    """A daily window without messages, local time; ``start > end`` spans midnight."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietWindow:
        return cls(time.fromisoformat(start), time.fromisoformat(end))

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def zone_for(name: str | None, default: str) -> ZoneInfo:
    """The learner's zone from Moodle's profile value; ``99`` or an unknown name: ``default``."""
    if name and name != "99":
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def on_working_day(when: datetime, zone: ZoneInfo) -> datetime:
    """``when`` moved to the Monday after when it falls on a Saturday or Sunday in ``zone``."""
    local = when.astimezone(zone)
    if local.weekday() >= SATURDAY:
        local += timedelta(days=7 - local.weekday())
    return local.astimezone(UTC)


def quiet_until(now: datetime, zone: ZoneInfo, window: QuietWindow | None) -> datetime | None:
    """The end of the quiet window when ``now`` lies in it (in ``zone``), else None."""
    if window is None:
        return None
    local = now.astimezone(zone)
    if not window.contains(local.time()):
        return None
    end = datetime.combine(local.date(), window.end, tzinfo=zone)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), window.end, tzinfo=zone)
    return end.astimezone(UTC)


def day_bounds(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the learner's local day that holds ``now``."""
    local = now.astimezone(zone)
    start = datetime.combine(local.date(), time(0), tzinfo=zone)
    end = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
