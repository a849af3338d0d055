"""quoting.quote/join are shlex.quote/join, without importing re."""

from __future__ import annotations

import random
import shlex
import subprocess
import sys

from portdoctor import quoting

SAMPLES = [
    "", "a", "abc-DEF_0.9/x:y,z=1+2%@", "a b", "it's", "'", '"', "$HOME", "`id`", "a\nb", "\t", "-",
    "--port=3000", "ü", "naïve", "日本", "\x1b[31m", "a*b", "~", "#", "!", "a;b", "a|b", "(x)", "{x}",
    "\\", "\x00", "e\u0301", "\u00a0", "٣",  # non-ASCII digits and letters are unsafe for shlex too
]


def test_quote_equals_shlex_on_samples() -> None:
    for s in SAMPLES:
        assert quoting.quote(s) == shlex.quote(s), repr(s)


def test_quote_equals_shlex_on_random_strings() -> None:
    rng = random.Random(14)
    alphabet = [chr(c) for c in range(0, 0x250)] + ["日", "\u2028", "\U0001f600"]
    for _ in range(3000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert quoting.quote(s) == shlex.quote(s), repr(s)


def test_join_equals_shlex() -> None:
    for words in ([], ["npm", "run", "dev"], ["a b", "it's", ""], SAMPLES):
        assert quoting.join(words) == shlex.join(words)


def _same_split(text: str) -> None:
    try:
        expected: object = shlex.split(text)
    except ValueError as e:
        expected = ValueError(str(e))
    try:
        got: object = quoting.split(text)
    except ValueError as e:
        got = ValueError(str(e))
    assert repr(got) == repr(expected), repr(text)


def test_split_equals_shlex_on_samples() -> None:
    for text in [
        "", " ", "vite", "vite --port 5173", "  a   b  ", "a\tb\nc", "'a b' c", '"a b" c', "a'b c'd",
        "''", "a ''", '""', "'", '"', "a\\", "a\\ b", '"a\\"b"', '"a\\\\b"', '"a\\xb"', "'a\\b'",
        "NODE_ENV=production node server.js", "cross-env PORT=3000 next dev", "a && b", "a;b", "x#y #z",
        '"unclosed', "it\\'s", '"$HOME" `id`', "a\\\nb", '"\\', "é 日本",
    ]:
        _same_split(text)


def test_split_equals_shlex_on_random_strings() -> None:
    rng = random.Random(15)
    alphabet = ["a", "b", " ", "\t", "\n", "'", '"', "\\", "#", "$", "=", "-", "é", ";", "&"]
    for _ in range(5000):
        _same_split("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))))


def test_split_round_trips_join() -> None:
    words = [s for s in SAMPLES if "\x00" not in s]
    assert quoting.split(quoting.join(words)) == words


def test_quoted_words_round_trip_through_a_real_shell() -> None:
    words = [s for s in SAMPLES if "\x00" not in s]
    out = subprocess.run(
        ["sh", "-c", "printf '%s\\0' " + quoting.join(words)], capture_output=True, check=True
    ).stdout
    assert out.decode("utf-8", "surrogateescape").split("\0")[:-1] == words


def test_importing_it_imports_no_re() -> None:
    code = "import sys, portdoctor.quoting; sys.exit('re' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_quote_visible_is_quote_for_printable_words() -> None:
    for s in SAMPLES:
        if s.isprintable():
            assert quoting.quote_visible(s) == shlex.quote(s), repr(s)
        else:
            assert quoting.quote_visible(s).isprintable(), repr(s)


def test_join_visible_runs_back_to_the_same_words() -> None:
    # Printed, nothing raw reaches the terminal; pasted into a shell, the same words come back.
    argv = [*SAMPLES[1:], "x\x1b[31my", "\u202e", "bad\udcff", "z\x85", "n\nl", "\U0001f600\x07"]
    argv = [a for a in argv if "\x00" not in a]  # no argument can hold a NUL
    line = quoting.join_visible(["printf", "%s\\0", *argv])
    assert line.isprintable() and "\x1b" not in line
    out = subprocess.run(["bash", "-c", line], capture_output=True, env={"LC_ALL": "C.UTF-8"}, timeout=30)
    assert out.stdout.split(b"\0")[:-1] == [a.encode("utf-8", "surrogateescape") for a in argv]
