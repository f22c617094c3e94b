"""Small HTML tables for the inspectors (escaped text, right-aligned numbers)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_STYLE = (
    "<style>"
    ".lt-table{border-collapse:collapse;font:12px/1.35 ui-monospace,monospace}"
    ".lt-table th,.lt-table td{padding:1px 8px;text-align:left;white-space:nowrap}"
    ".lt-table th{border-bottom:1px solid #999}"
    ".lt-table td.num{text-align:right}"
    "</style>"
)


class Cell:
    """A cell's text, with a flag for numbers (right-aligned) and an optional left indent."""

    __slots__ = ("text", "numeric", "indent")

    def __init__(self, text: object, numeric: bool = False, indent: int = 0) -> None:
        self.text = str(text)
        self.numeric = numeric
        self.indent = indent


def html_table(header: Sequence[str], rows: Sequence[Sequence[object]], css_class: str = "") -> str:
    """An HTML table; plain values become text cells, `Cell`s carry alignment and indent."""
    parts = [_STYLE, f'<table class="lt-table {escape(css_class)}"><thead><tr>']
    parts += [f"<th>{escape(h)}</th>" for h in header]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>")
        for value in row:
            cell = value if isinstance(value, Cell) else Cell(value)
            attrs = ' class="num"' if cell.numeric else ""
            if cell.indent:
                attrs += f' style="padding-left:{8 + 14 * cell.indent}px"'
            parts.append(f"<td{attrs}>{escape(cell.text)}</td>")
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)
