"""The symbols the Trader CLI draws, in Unicode and in plain ASCII (`--ascii`: no box drawing, no emoji)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Glyphs:
    live: str
    degraded: str
    reconnecting: str
    offline: str
    stopping: str
    bar_full: str
    bar_empty: str
    banner: str
    warning: str
    separator: str
    bullet: str
    check: str
    dash: str


UNICODE = Glyphs(live="●", degraded="◐", reconnecting="◌", offline="○", stopping="■", bar_full="█",
                 bar_empty="░", banner="▓▓", warning="⚠", separator="│", bullet="•", check="✓", dash="—")
ASCII = Glyphs(live="*", degraded="~", reconnecting="o", offline="o", stopping="#", bar_full="#",
               bar_empty="-", banner="!!", warning="!", separator="|", bullet="-", check="yes", dash="-")


def glyphs(ascii_only: bool) -> Glyphs:
    return ASCII if ascii_only else UNICODE
