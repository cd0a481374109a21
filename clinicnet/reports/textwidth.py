"""Display width and line wrapping for mixed Japanese/ASCII terminal text.

``len()`` is wrong for a terminal: a kanji takes two columns. Tables and wrapped
paragraphs in the text report use these helpers so Japanese columns line up.
East Asian *ambiguous* characters (○, ■, …) are counted as one column, as most
terminals outside Japanese legacy consoles do; the text report keeps them out of
aligned columns for that reason.
"""

from __future__ import annotations

import re
import unicodedata

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")

#: may not start a line (Japanese kinsoku): kept with the character before
_NO_LINE_START = frozenset("、。，．,.・：；:;？！?!ー）」』】〕］｝〉》)]}ゃゅょっぁぃぅぇぉャュョッァィゥェォ々")
#: may not end a line: kept with the character after
_NO_LINE_END = frozenset("（「『【〔［｛〈《([{")


def char_width(c: str) -> int:
    if unicodedata.combining(c) or c in "\u200b\u200c\u200d\ufeff":
        return 0
    return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1


def width(s: str) -> int:
    """Columns ``s`` occupies on a terminal (ANSI colour codes take none)."""
    return sum(char_width(c) for c in _ANSI_RE.sub("", s))


def pad(s: str, w: int, *, right: bool = False) -> str:
    """``s`` padded with spaces to ``w`` columns (never cut)."""
    fill = " " * max(0, w - width(s))
    return fill + s if right else s + fill


def truncate(s: str, w: int, ellipsis: str = "...") -> str:
    """``s`` cut to at most ``w`` columns, marking the cut."""
    if width(s) <= w:
        return s
    out, used, limit = [], 0, max(0, w - width(ellipsis))
    for c in s:
        cw = char_width(c)
        if used + cw > limit:
            break
        out.append(c)
        used += cw
    return "".join(out) + ellipsis


def _tokens(s: str) -> list[str]:
    """Break opportunities: ASCII words whole, each wide character alone, kinsoku kept."""
    raw = re.findall(r"\s+|[^\s]", s)
    tokens: list[str] = []
    for piece in raw:
        if piece.isspace():
            tokens.append(" ")
            continue
        prev = tokens[-1] if tokens else ""
        if (
            prev
            and prev != " "
            and (
                piece in _NO_LINE_START
                or prev[-1] in _NO_LINE_END
                or (char_width(piece) == 1 and char_width(prev[-1]) == 1)
            )
        ):
            tokens[-1] = prev + piece
        else:
            tokens.append(piece)
    return tokens


def wrap(s: str, w: int) -> list[str]:
    """``s`` wrapped to lines of at most ``w`` columns (wide characters count two).

    Breaks between ASCII words and between any two Japanese characters, except
    where kinsoku forbids it (no line starts with 。 or 」). Existing newlines are
    kept. Never returns an empty list.
    """
    w = max(w, 4)
    lines: list[str] = []
    for para in s.split("\n"):
        line, used = "", 0
        for tok in _tokens(para):
            tw = width(tok)
            if tok == " ":
                if line and used + 1 <= w:
                    line, used = line + " ", used + 1
                continue
            if used + tw > w and line.strip():
                lines.append(line.rstrip())
                line, used = "", 0
            while tw > w:  # a word longer than a line: cut it
                head = truncate(tok, w, ellipsis="")
                lines.append(head)
                tok = tok[len(head) :]
                tw = width(tok)
            line, used = line + tok, used + tw
        lines.append(line.rstrip())
    return lines
