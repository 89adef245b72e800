"""Textual widgets that draw the pure rows of `summary` and `tabs`; they hold no state of their own."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable, Static

from simple_risk_manager.trader.summary import Line
from simple_risk_manager.trader.tabs import Row, Table

TAB_TITLES = ("Positions", "Orders", "History", "Stats")


def to_text(lines: Sequence[Line]) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, line in enumerate(lines):
        if index:
            text.append("\n")
        for part, style in line:
            text.append(part, style=style or None)
    return text


def row_cells(row: Row) -> list[Text]:
    return [Text(part, style=style or "", no_wrap=True) for part, style in row]


class Lines(Static):
    """A block of styled lines; hidden while it has none (the banner row exists only when needed)."""

    def show(self, lines: Sequence[Line], hide_when_empty: bool = False) -> None:
        self.update(to_text(lines))
        if hide_when_empty:
            self.display = bool(lines)


class TabBar(Static):
    """`[1 Positions]  2 Orders  3 History  4 Stats`: the current tab bracketed and highlighted."""

    def show(self, current: int, history_mode: str) -> None:
        text = Text(" ", no_wrap=True)
        for index, title in enumerate(TAB_TITLES):
            label = f"{index + 1} {title}" + (f" ({history_mode})" if index == 2 else "")
            if index == current:
                text.append(f"[{label}]", style="bold reverse")
            else:
                text.append(f" {label} ", style="")
            text.append("  ")
        self.update(text)


class TableView(DataTable[Text]):
    """A tab's table, rebuilt from rows on every render; the cursor row survives the rebuild."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._columns: tuple[str, ...] = ()

    def show(self, table: Table) -> None:
        row = self.cursor_row
        if table.columns != self._columns:
            self.clear(columns=True)
            self.add_columns(*table.columns)
            self._columns = table.columns
        else:
            self.clear()
        for cells in table.rows:
            self.add_row(*row_cells(cells))
        if table.rows:
            self.move_cursor(row=min(row, len(table.rows) - 1), animate=False, scroll=False)
