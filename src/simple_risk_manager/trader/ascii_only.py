"""`--ascii` (`cli.md` §0): no box drawing, block elements, arrows or other symbols on screen.

The dashboard is drawn in Unicode; with `--ascii` every line of output goes through one table that
swaps each such character for one ASCII character, so no column ever moves. In the full-screen app this
is a Textual line filter, which also catches what Textual draws itself (borders, scroll bars).
"""

from __future__ import annotations

from typing import Final

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

_ONE_FOR_ONE: Final = {
    "●": "*", "◐": "~", "◌": "o", "○": "o", "■": "#", "▓": "#", "⚠": "!", "•": "-", "✓": "v", "—": "-",
    "–": "-", "…": ".", "×": "x", "←": "<", "→": ">", "↑": "^", "↓": "v", "↔": "=",
    "█": "#", "▉": "#", "▊": "#", "▋": "#", "▌": "|", "▍": "|", "▎": "|", "▏": "|", "▐": "|",
    "░": "-", "▒": "-", "▔": "-", "▁": "_", "▂": "_", "▃": "_", "▄": "_", "▅": "#", "▆": "#", "▇": "#",
    "│": "|", "┃": "|", "║": "|", "─": "-", "━": "-", "═": "=",
    "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+", "┼": "+",
    "╭": "+", "╮": "+", "╰": "+", "╯": "+", "┏": "+", "┓": "+", "┗": "+", "┛": "+",
    "\u00a0": " ",
}
_TABLE: Final = str.maketrans(_ONE_FOR_ONE)


def to_ascii(text: str) -> str:
    """`text` with every character in ASCII, one for one; anything unknown becomes `?`."""
    swapped = text.translate(_TABLE)
    return swapped if swapped.isascii() else "".join(c if c.isascii() else "?" for c in swapped)


class AsciiOnly(LineFilter):
    """The Textual line filter for `--ascii`: text swapped, styles kept."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [segment if segment.control or segment.text.isascii()
                else Segment(to_ascii(segment.text), segment.style, segment.control) for segment in segments]
