"""`--ascii`: every character swapped one for one, so nothing on screen moves."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from rich.style import Style
from textual.color import Color

from simple_risk_manager.trader.ascii_only import AsciiOnly, to_ascii


@pytest.mark.parametrize(("text", "ascii_text"), [
    (" ▓▓ COOLDOWN — RULE-007 single-trade loss 120.00 — trading allowed again in 04:12 ▓▓",
     " ## COOLDOWN - RULE-007 single-trade loss 120.00 - trading allowed again in 04:12 ##"),
    ("Loss limit [███░░░░░░░] 38%", "Loss limit [###-------] 38%"),
    (" ⚠ MESH5 quote 7s old │ last event 0.4s", " ! MESH5 quote 7s old | last event 0.4s"),
    ("● LIVE ◐ DEGRADED ◌ RECONNECTING ○ OFFLINE ■ STOPPING",
     "* LIVE ~ DEGRADED o RECONNECTING o OFFLINE # STOPPING"),
    ("┌─┐│✓…←→↑↓×", "+-+|v.<>^vx"),
    ("🙂", "?"),
])
def test_one_for_one(text: str, ascii_text: str) -> None:
    assert to_ascii(text) == ascii_text
    assert len(to_ascii(text)) == len(text)


def test_the_line_filter_keeps_styles_and_control_segments() -> None:
    red = Style(color="red")
    control = Segment("", None, [(1,)])  # type: ignore[list-item]
    out = AsciiOnly().apply([Segment("▓▓ LOCKED", red), control, Segment("plain")], Color(0, 0, 0))
    assert out == [Segment("## LOCKED", red), control, Segment("plain")]
