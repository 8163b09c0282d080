"""Dates to weeks and back: sessions, summits and the deadline on the model's weekly clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from sim.scenario import Calendar


def week_of(start: date, day: date) -> int:
    """Index of the week that holds `day` (week 0 starts on `start`)."""
    return (day - start).days // 7


def date_of(start: date, week: int) -> date:
    """First day of week `week`."""
    return start + timedelta(weeks=int(week))


@dataclass(frozen=True)
class Clock:
    """The calendar compiled to week indices: which weeks bargain, boost, or end the talks."""

    start: date
    weeks: int
    deadline_week: int
    hard_deadline: bool
    bargaining: np.ndarray  # bool per week: a session or summit runs
    boost: np.ndarray  # extra clock weeks per week (summits)
    summit_trust: np.ndarray  # change in trust per week (summits)
    host: tuple[str | None, ...]  # party hosting each week's round, which moves first in it

    @classmethod
    def from_calendar(cls, cal: Calendar) -> Clock:
        """Compile the scenario calendar."""
        weeks = week_of(cal.start, cal.horizon) + 1
        bargaining = np.zeros(weeks, dtype=bool)
        boost = np.zeros(weeks)
        trust = np.zeros(weeks)
        host: list[str | None] = [None] * weeks
        for session in cal.all_sessions():
            first = week_of(cal.start, session.start)
            bargaining[first : first + session.weeks] = True
            for week in range(first, min(first + session.weeks, weeks)):
                host[week] = session.host
        for summit in cal.summits:
            week = week_of(cal.start, summit.date)
            bargaining[week] = True
            boost[week] += summit.clock_boost
            trust[week] += summit.trust
        return cls(
            start=cal.start,
            weeks=weeks,
            deadline_week=week_of(cal.start, cal.deadline),
            hard_deadline=cal.deadline_kind == "hard",
            bargaining=bargaining,
            boost=boost,
            summit_trust=trust,
            host=tuple(host),
        )

    def week(self, day: date) -> int:
        """Week index of a day on this clock."""
        return week_of(self.start, day)

    def date(self, week: int) -> date:
        """First day of a week of this clock."""
        return date_of(self.start, week)
