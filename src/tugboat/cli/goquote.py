"""Go's strconv.Quote (docker quotes COMMAND with it), apart from the template engine so ps
does not import the engine just for this."""

from __future__ import annotations


def go_quote(s: str) -> str:
    """strconv.Quote for the common cases."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
