"""The public API: every exported name resolves, and a function is never shadowed by a module
of the same name (the implementation modules are private: portdoctor._free holds free())."""

from __future__ import annotations

import subprocess
import sys

import pytest

import portdoctor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from servers import Servers

FUNCTIONS = ("find", "free", "pick", "wait")


def test_every_exported_name_resolves() -> None:
    for name in portdoctor.__all__:
        assert getattr(portdoctor, name) is not None, name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_is_the_function_after_its_module_was_imported(name: str) -> None:
    # A fresh interpreter: import the private module first (as the library itself does), then
    # the package attribute is still the function: implementation modules are private
    # (portdoctor._free holds free()), so no module shadows a function of the same name.
    code = (
        "import importlib, types, portdoctor\n"
        f"importlib.import_module('portdoctor._{name}')\n"
        f"attr = portdoctor.{name}\n"
        "assert isinstance(attr, types.FunctionType), type(attr)\n"
        f"assert attr is importlib.import_module('portdoctor._{name}').{name}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_public_module_shadows_a_function() -> None:
    import importlib.util

    for name in (*FUNCTIONS, "explain"):
        assert importlib.util.find_spec(f"portdoctor.{name}") is None, name


def test_in_use_and_is_free_are_the_one_definition_of_free() -> None:
    # The answer of check, why and free (real binds), not only "something listens".
    import socket

    from infra import free_port, portdoctor_cli
    from servers import leave_time_wait

    port = leave_time_wait()  # nothing listens, yet a plain bind fails (EADDRINUSE)
    assert not any(s.listening for s in portdoctor.sockets(port, all_netns=False))
    assert (portdoctor.in_use(port), portdoctor.is_free(port)) == (True, False)
    assert portdoctor.in_use(port, host="127.0.0.1") is True
    assert portdoctor_cli("check", str(port)).returncode == 1  # the same answer as the command

    idle = free_port()
    assert (portdoctor.in_use(idle), portdoctor.is_free(idle)) == (False, True)
    with socket.create_server(("127.0.0.1", idle)):
        assert (portdoctor.in_use(idle), portdoctor.is_free(idle)) == (True, False)


# --- the library's own callers: one protocol as a string, and bad input as UsageError -------


def test_find_sockets_and_listening_take_one_protocol_as_a_string(servers: Servers) -> None:
    # why(port, "udp") takes one protocol; find/sockets/listening take a sequence of them, and
    # a str is one: find(port, "udp") iterated "u", "d", "p" and ended in KeyError: 'u'.
    srv = servers.udp("127.0.0.1")
    assert srv.pid in [h.pid for h in portdoctor.find(srv.port, "udp").holders]
    assert portdoctor.find(srv.port, "udp") == portdoctor.find(srv.port, ("udp",))
    assert [s.state for s in portdoctor.sockets(srv.port, "udp")] == ["UNCONN"]
    assert srv.port in [r.socket.port for r in portdoctor.listening("udp")]


def _bad_calls(port: int) -> list[tuple[str, Callable[[], object]]]:
    """(the start of the message, a call with bad input) for every public function."""
    P = portdoctor
    return [
        ("invalid port -1", lambda: P.find(-1)),
        ("invalid port 'abc'", lambda: P.find("abc")),  # type: ignore[arg-type]
        ("invalid port 70000", lambda: P.sockets(70000)),
        ("invalid port 3000.0", lambda: P.why(3000.0)),  # type: ignore[arg-type]
        ("invalid port None", lambda: P.why(None)),  # type: ignore[arg-type]
        ("invalid port None", lambda: P.free(None, dry_run=True)),  # type: ignore[arg-type]
        ("invalid port 3000.0", lambda: P.wait(3000.0, timeout=0)),  # type: ignore[arg-type]
        ("invalid port 0: expected a number from 1 to 65535", lambda: P.is_free(0)),
        ("invalid port -1: expected a number from 1 to 65535", lambda: P.in_use(-1)),
        ("invalid port -1: expected a number from 0 to 65535", lambda: P.can_bind(-1)),
        ("invalid --near port 'abc'", lambda: P.pick(near="abc", registry=False)),  # type: ignore[arg-type]
        ("invalid protocol 'TCP'", lambda: P.find(port, "TCP")),
        ("invalid protocol 'sctp'", lambda: P.find(port, ["sctp"])),
        ("invalid protocol ''", lambda: P.sockets(port, "")),
        ("invalid protocol 'UDP'", lambda: P.listening("UDP")),
        ("invalid timeout 'soon'", lambda: P.free(port, timeout="soon")),  # type: ignore[arg-type]
        ("invalid timeout None", lambda: P.free(port, timeout=None)),  # type: ignore[arg-type]
        ("invalid timeout inf", lambda: P.free(port, timeout=float("inf"))),
        ("invalid timeout inf", lambda: P.wait(port, timeout=float("inf"))),
        ("invalid timeout True", lambda: P.wait(port, timeout=True)),
        ("invalid interval 'x'", lambda: P.wait(port, timeout=0, interval="x")),  # type: ignore[arg-type]
    ]


def test_bad_input_is_a_usage_error_from_the_one_validator_of_its_kind() -> None:
    # The messages of the CLI's validators (errors.parse_port, parse_protocol, parse_seconds),
    # never AttributeError, KeyError, OverflowError or TypeError from deep inside.
    from infra import free_port

    port = free_port()
    for start, call in _bad_calls(port):
        with pytest.raises(portdoctor.UsageError) as caught:
            call()
        assert str(caught.value).startswith(start), (start, caught.value)


def test_a_port_as_text_is_taken_where_why_takes_it() -> None:
    # why, free and wait took "3000"; is_free, in_use, can_bind and pick(near=) did not.
    from infra import free_port

    port = free_port()
    assert portdoctor.is_free(str(port)) is True
    assert portdoctor.in_use(str(port)) is False
    assert portdoctor.can_bind(str(port)).ok  # type: ignore[arg-type]
    same = portdoctor.pick(near=port, registry=False).port  # the search from that port
    assert portdoctor.pick(near=str(port), registry=False).port == same  # type: ignore[arg-type]


def test_a_pasted_protocol_is_the_protocol_asked_about() -> None:
    # '5353/udp' as people paste it (fuser, the CLI) is about UDP: answering about TCP would call
    # a taken UDP port free. A protocol given as well must agree with it.
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("0.0.0.0", 0))
        port = udp.getsockname()[1]
        assert portdoctor.is_free(port) is True  # TCP: nothing there
        assert portdoctor.is_free(f"{port}/udp") is False
        assert portdoctor.in_use(f"{port}/udp") is True
        d = portdoctor.why(f"{port}/udp")
        assert d.protocol == "udp" and d.in_use, d.to_dict()
        assert portdoctor.why(f"{port}/udp", "udp").in_use
        for args in ((f"{port}/udp",), (port, "udp")):  # the protocol positional, as why takes it
            with pytest.raises(portdoctor.FreeRefused) as refused:  # the holder is this test itself
                portdoctor.free(*args, dry_run=True)
            assert refused.value.result.protocol == "udp", refused.value.result.to_dict()
        for call in (
            lambda: portdoctor.why(f"{port}/udp", "tcp"),
            lambda: portdoctor.is_free(f"{port}/udp", "tcp"),
            lambda: portdoctor.free(f"{port}/udp", protocol="tcp", dry_run=True),
        ):
            with pytest.raises(portdoctor.UsageError, match="is a UDP port, but protocol 'tcp'"):
                call()


def test_a_pasted_address_is_the_bind_asked_about() -> None:
    # '127.0.0.2:PORT' is a bind on 127.0.0.2: a listener on 127.0.0.1 does not block it.
    import socket

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        assert portdoctor.is_free(f"127.0.0.2:{port}") is True
        assert portdoctor.is_free(f"127.0.0.1:{port}") is False
        d = portdoctor.why(f"127.0.0.2:{port}")
        assert d.cause is not None and d.cause.kind == "address-mismatch", d.to_dict()
