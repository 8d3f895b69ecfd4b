"""Go's text/tabwriter as docker configures it: NewWriter(out, minwidth=10, tabwidth=1, padding=3,
' ', 0). Cells are tab-terminated; the text after a line's last tab is not aligned. Column widths
are computed per block of consecutive lines that have that column, exactly like Go does, so the
output lines up byte for byte with docker's."""

from __future__ import annotations


def tabwrite(text: str, minwidth: int = 10, padding: int = 3) -> str:
    lines = text.split("\n")
    trailing_newline = lines and lines[-1] == ""
    if trailing_newline:
        lines = lines[:-1]
    cells = [ln.split("\t") for ln in lines]
    out: list[str] = []
    widths: list[int] = []

    def write_lines(line0: int, line1: int) -> None:
        for row in cells[line0:line1]:
            parts = []
            for j, c in enumerate(row):
                if j < len(widths) and j < len(row) - 1:
                    parts.append(c + " " * (widths[j] - len(c)))
                else:
                    parts.append(c)
            out.append("".join(parts))

    def fmt(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(cells[this]) - 1:
                this += 1
                continue
            write_lines(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(cells[this]) - 1:
                width = max(width, len(cells[this][column]) + padding)
                this += 1
            widths.append(width)
            fmt(line0, this)
            widths.pop()
            line0 = this
        write_lines(line0, line1)

    fmt(0, len(cells))
    return "\n".join(out) + ("\n" if trailing_newline else "")
