"""The column names of runs.parquet, in one place: one row per lane, named from the scenario's
issue, party and event keys. Readers build names here instead of spelling them out."""

from __future__ import annotations

LANE = "lane"
AGREED = "agreed"  # the lane signed a treaty
AGREED_WEEK = "agreed_week"  # week it signed, -1 for never
IN_FORCE = "in_force"  # both ratified
IN_FORCE_WEEK = "in_force_week"
BROKE_DOWN_WEEK = "broke_down_week"
INPUT = "input."  # prefix of an uncertain input's drawn value: input.<dotted.path>


def package(issue: str) -> str:
    """Agreed value of an issue (NaN where the lane did not sign)."""
    return f"package_{issue}"


def utility(party: str) -> str:
    """A party's utility of the signed package (1 = its ideal)."""
    return f"utility_{party}"


def walk_away(party: str) -> str:
    """A party's walk-away utility when the lane ended."""
    return f"walk_away_{party}"


def ratified(party: str) -> str:
    """The party's ratifier approved the signed treaty."""
    return f"ratified_{party}"


def ratified_week(party: str) -> str:
    """Week the party's ratifier voted yes, -1 for never."""
    return f"ratified_week_{party}"


def votes(party: str) -> str:
    """Share of the party's ratifier voting yes."""
    return f"votes_{party}"


def event_week(event: str) -> str:
    """Week an event first fired, -1 for never."""
    return f"event_{event}_week"


def event_count(event: str) -> str:
    """Times an event fired."""
    return f"event_{event}_count"


def drawn(path: str) -> str:
    """The per-lane draw of an uncertain input at a dotted scenario path."""
    return f"{INPUT}{path}"
