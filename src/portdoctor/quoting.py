"""POSIX shell words, as :mod:`shlex` quotes, joins and splits them, without importing ``re``.

Every next step portdoctor prints is quoted here. ``shlex`` compiles a regular expression at import,
and ``re`` with ``enum`` costs ~5 ms: half the start-up budget of ``portdoctor why PORT``.
tests/test_quoting.py holds these equal to ``shlex`` on every interpreter the suite runs on.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# shlex's safe characters: [\w@%+=:,./-] with re.ASCII
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")


def quote(s: str) -> str:
    """A shell-escaped version of ``s`` (``shlex.quote``)."""
    if not s:
        return "''"
    if _SAFE.issuperset(s):
        return s
    # single quotes, with each single quote put in double quotes: $'b -> '$'"'"'b'
    return "'" + s.replace("'", "'\"'\"'") + "'"


def join(words: Iterable[str]) -> str:
    """The shell-escaped command line of ``words`` (``shlex.join``)."""
    return " ".join(quote(w) for w in words)


_C_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def quote_visible(s: str) -> str:
    """:func:`quote`, safe to print: a word with a control or other non-printable character is
    written dollar-single-quoted instead (``$'line\\nline'``: bash, zsh, ksh, POSIX.1-2024), so
    no control character reaches the terminal and the word still reads back the same."""
    if s.isprintable():
        return quote(s)
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _C_ESCAPES:
            out.append(_C_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x80 or 0xDC80 <= code <= 0xDCFF:  # ASCII, or a byte that was not UTF-8
            out.append(f"\\x{code & 0xFF:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "$'" + "".join(out) + "'"


def join_visible(words: Iterable[str]) -> str:
    """A command line to print, copy and run: :func:`join` with :func:`quote_visible` words."""
    return " ".join(quote_visible(w) for w in words)


_BLANKS = " \t\r\n"


def split(text: str) -> list[str]:
    """The words of a command line, as ``shlex.split(text)`` reads them (POSIX rules, no comments).

    Quotes group; a backslash escapes the next character outside quotes, and only ``"`` or ``\\``
    inside double quotes. Raises ValueError on an unclosed quote or a trailing backslash.
    """
    words: list[str] = []
    word: list[str] = []
    in_word = False  # '' is a word of its own
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _BLANKS:
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
            continue
        in_word = True
        if c == "\\":
            if i + 1 >= n:
                raise ValueError("No escaped character")
            word.append(text[i + 1])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise ValueError("No closing quotation")
            word.append(text[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while True:
                if i >= n:
                    raise ValueError("No closing quotation")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    word.append(text[i + 1])
                    i += 2
                    continue
                if c == "\\" and i + 1 >= n:
                    raise ValueError("No escaped character")
                word.append(c)
                i += 1
        else:
            word.append(c)
            i += 1
    if in_word:
        words.append("".join(word))
    return words
