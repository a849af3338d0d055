"""Ports as people paste them (Node's ':::3000', fuser's '3000/udp', URLs) and mistyped commands."""

from __future__ import annotations

import json
import socket

import pytest

from infra import free_port, portdoctor_cli
from portdoctor.cli.common import expand_targets
from portdoctor.errors import UsageError, parse_port, parse_target


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3000", (3000, None, None)),
        (":3000", (3000, None, None)),
        (":::3000", (3000, "::", None)),
        ("[::]:3000", (3000, "::", None)),
        ("[::1]:3000", (3000, "::1", None)),
        ("0.0.0.0:3000", (3000, "0.0.0.0", None)),
        ("localhost:3000", (3000, "localhost", None)),
        ("3000/tcp", (3000, None, "tcp")),
        ("3000/udp", (3000, None, "udp")),
        ("127.0.0.1:53/UDP", (53, "127.0.0.1", "udp")),
        ("http://localhost:3000/", (3000, "localhost", None)),
        ("http://[::1]:5173/app?x=1#top", (5173, "::1", None)),
        ("https://example.com/", (443, None, None)),
        ("http://user@127.0.0.1:8080", (8080, "127.0.0.1", None)),
    ],
)
def test_pasted_forms(text: str, expected: tuple[int, str | None, str | None]) -> None:
    assert parse_target(text) == expected
    assert parse_port(text) == expected[0]


@pytest.mark.parametrize(
    "text", ["kill", "3000/sctp", "http://x:99999", "a:b", "", "::1", "0", "70000", "ftp:/x"]
)
def test_garbage_is_one_clear_error(text: str) -> None:
    with pytest.raises(UsageError, match="invalid port"):
        parse_target(text)


def test_expand_targets() -> None:
    assert expand_targets(["why", ":::3000"]) == ["why", "3000", "--host", "::"]
    assert expand_targets(["why", "localhost:3000/udp", "--json"]) == [
        "why", "3000", "--json", "--host", "localhost", "--udp",
    ]  # fmt: skip
    assert expand_targets(["why", "0.0.0.0:3000", "--host", "::1"]) == ["why", "3000", "--host", "::1"]
    assert expand_targets(["free", "3000/udp", "4000/udp"]) == ["free", "3000", "4000", "--udp"]
    assert expand_targets(["why", "3000"]) == ["why", "3000"]
    assert expand_targets(["pick", "--near", "3000"]) == ["pick", "--near", "3000"]


def test_why_accepts_what_node_prints() -> None:
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::", 0))
        s.listen()
        port = s.getsockname()[1]
        for form in (f":::{port}", f"[::]:{port}", f"http://localhost:{port}/", f"{port}/tcp"):
            r = portdoctor_cli(form, "--json")
            assert r.returncode == 1, (form, r.stderr)
            data = json.loads(r.stdout)
            assert data["in_use"] is True and data["port"] == port and data["protocol"] == "tcp", form


def test_a_udp_form_asks_about_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        r = portdoctor_cli("why", f"127.0.0.1:{port}/udp", "--json")
        assert r.returncode == 1, r.stderr
        data = json.loads(r.stdout)
        assert data["protocol"] == "udp" and data["in_use"] is True


def test_a_bad_form_is_one_line_exit_2() -> None:
    r = portdoctor_cli("why", f"{free_port()}/sctp")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "invalid port" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("word", "guess"), [("kill", "free"), ("stop", "free"), ("lss", "ls"), ("pik", "pick")]
)
def test_a_mistyped_command_gets_a_suggestion(word: str, guess: str) -> None:
    r = portdoctor_cli(word, "3000")
    assert r.returncode == 2, r.stdout
    assert r.stderr == f"portdoctor: unknown command {word!r}; did you mean 'portdoctor {guess}'?\n"
