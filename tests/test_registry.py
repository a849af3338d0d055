"""portdoctor.registry and the registry commands, on real SQLite files and real processes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from portdoctor.errors import RegistryError, UsageError
from portdoctor.ranges import why_unsafe
from portdoctor.registry import Registry, ReservationConflict


@pytest.fixture
def reg_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private registry path, also in $PORTDOCTOR_REGISTRY for the commands run here."""
    path = tmp_path / "registry.sqlite3"
    monkeypatch.setenv("PORTDOCTOR_REGISTRY", str(path))
    return path


def cli(*args: str, user: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(user or []), sys.executable, "-m", "portdoctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def safe_ports(n: int, start: int = 7100) -> list[int]:
    return [p for p in range(start, 10000) if why_unsafe(p) is None][:n]


def test_default_path_from_env(reg_path: Path) -> None:
    assert Registry().path == str(reg_path)


def test_reserve_is_stable(reg_path: Path) -> None:
    reg = Registry()
    a = reg.reserve("web")
    assert a.new and a.name == "web" and a.protocol == "tcp"
    assert why_unsafe(a.port) is None
    b = Registry(reg_path).reserve("web")
    assert (b.port, b.new) == (a.port, False)
    assert b.last_used >= a.last_used and b.created == a.created
    assert reg.get("web") == b
    assert reg.get("nothing") is None


def test_stores_cwd_and_times(reg_path: Path, tmp_path: Path) -> None:
    r = Registry().reserve("svc", cwd=str(tmp_path))
    got = Registry().get("svc")
    assert got is not None and got.cwd == str(tmp_path) and got.created == r.created
    assert Registry().reserve("other").cwd == os.getcwd()


def test_never_one_port_for_two_names(reg_path: Path) -> None:
    reg = Registry()
    p1, p2 = safe_ports(2)
    reg.reserve("a", p1)
    with pytest.raises(ReservationConflict, match="already reserved for 'a'"):
        reg.reserve("b", p1)
    with pytest.raises(ReservationConflict, match="already has port"):
        reg.reserve("a", p2)
    # the same port for UDP is another reservation
    assert reg.reserve("b", p1, protocol="udp").port == p1
    # a name reserved for TCP is not silently turned into UDP
    with pytest.raises(ReservationConflict):
        reg.reserve("a", protocol="udp")
    # a new pick never hands out a reserved port
    assert reg.reserve("c", near=p1).port != p1


def test_unique_constraint_in_the_schema(reg_path: Path) -> None:
    p1 = safe_ports(1)[0]
    Registry().reserve("a", p1)
    db = sqlite3.connect(reg_path)
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO reservations VALUES ('b', ?, 'tcp', 0, 0, NULL)", (p1,))
    db.close()


def test_release(reg_path: Path) -> None:
    reg = Registry()
    r = reg.reserve("gone")
    released = reg.release("gone")
    assert released is not None and (released.name, released.port, released.new) == (
        "gone",
        r.port,
        False,
    )
    assert reg.get("gone") is None
    assert reg.release("gone") is None


@pytest.mark.parametrize("name", ["", "-web", ".x", "a b", "x" * 65, "é", "a/b", "web\n", "a:b"])
def test_invalid_names(reg_path: Path, name: str) -> None:
    with pytest.raises(UsageError, match="invalid name"):
        Registry().reserve(name)


def test_valid_names(reg_path: Path) -> None:
    for name in ("a", "9lives", "my-app.web_2", "x" * 64):
        Registry().reserve(name)
    assert len(Registry().all()) == 4


def test_reading_does_not_create_the_file(reg_path: Path) -> None:
    assert Registry().all() == []
    assert Registry().get("x") is None
    assert Registry().ports() == {}
    assert Registry().release("x") is None
    assert not reg_path.exists()


def test_wal_mode(reg_path: Path) -> None:
    Registry().reserve("x")
    db = sqlite3.connect(reg_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_failed_reserve_keeps_earlier_reservations(reg_path: Path) -> None:
    reg = Registry()
    a = reg.reserve("a")
    b = reg.reserve("b")
    for args in (("c", str(b.port)), ("a", str(b.port))):
        out = cli("reserve", args[0], "--port", args[1])
        assert out.returncode == 1
        assert out.stderr.count("\n") == 1 and "already" in out.stderr
    out = cli("reserve", "bad name")
    assert out.returncode == 2
    assert [(r.name, r.port) for r in reg.all()] == sorted([("a", a.port), ("b", b.port)], key=lambda t: t[1])


def test_corrupt_file(reg_path: Path) -> None:
    content = b"this is not a database, but it is someone's file\n" * 100
    reg_path.write_bytes(content)
    with pytest.raises(RegistryError, match="not an SQLite database"):
        Registry().reserve("x")
    with pytest.raises(RegistryError):
        Registry().all()
    for args in (
        ("reserve", "x"),
        ("reservations",),
        ("registry", "list"),
        ("pick", "--name", "x"),
    ):
        out = cli(*args)
        assert out.returncode == 2, args
        assert out.stderr.count("\n") == 1, out.stderr
        assert "Traceback" not in out.stderr
        assert "PORTDOCTOR_REGISTRY" in out.stderr
    # pick without a name still works, with a note
    out = cli("pick")
    assert out.returncode == 0
    assert int(out.stdout) > 0
    assert "picked without the registry" in out.stderr
    assert reg_path.read_bytes() == content


def test_someone_elses_sqlite_database(reg_path: Path) -> None:
    db = sqlite3.connect(reg_path)
    db.execute("CREATE TABLE notes (t TEXT)")
    db.execute("INSERT INTO notes VALUES ('keep me')")
    db.commit()
    db.close()
    with pytest.raises(RegistryError, match="not a portdoctor registry"):
        Registry().reserve("x")
    db = sqlite3.connect(reg_path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["notes"]
    db.close()


def test_parent_is_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("PORTDOCTOR_REGISTRY", str(tmp_path / "file" / "registry.sqlite3"))
    with pytest.raises(RegistryError, match="cannot create the registry directory"):
        Registry().reserve("x")
    out = cli("reserve", "x")
    assert out.returncode == 2 and out.stderr.count("\n") == 1


def unprivileged() -> list[str]:
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A temporary directory that another user can reach (pytest's tmp_path may be 0700)."""
    path = Path(tempfile.mkdtemp(prefix="portdoctor-reg-"))
    path.chmod(0o755)
    yield path
    for p in (path, *path.iterdir()):
        p.chmod(0o755)
    shutil.rmtree(path)


def test_unwritable_directory(open_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = unprivileged()
    ro = open_tmp / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv("PORTDOCTOR_REGISTRY", str(ro / "registry.sqlite3"))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1] / "src"))
    monkeypatch.chdir("/")
    out = cli("pick", "--name", "x", user=user)
    assert out.returncode == 2, out.stderr
    assert "cannot write the registry" in out.stderr and out.stderr.count("\n") == 1
    out = cli("pick", user=user)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().isdigit()


def test_sixteen_concurrent_pickers(reg_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "portdoctor", "pick", "--name", f"n{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(16)
    ]
    ports = {}
    for i, p in enumerate(procs):
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ports[f"n{i}"] = int(out)
    assert len(set(ports.values())) == 16
    assert {r.name: r.port for r in Registry().all()} == ports
    # and again: every name gets its port back
    for name in ("n0", "n7", "n15"):
        out = cli("pick", "--name", name)
        assert out.returncode == 0 and int(out.stdout) == ports[name]


def test_cli_reserve_list_release(reg_path: Path) -> None:
    port = safe_ports(1, 8800)[0]
    out = cli("reserve", "api", "--port", str(port))
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"api: {port}/tcp (reserved)\n"
    out = cli("registry", "reserve", "api", "--json")
    data = json.loads(out.stdout)
    assert data["port"] == port and data["new"] is False and data["notes"] == []
    assert set(data) == {"name", "port", "protocol", "created", "last_used", "cwd", "new", "notes"}
    out = cli("reservations")
    assert out.returncode == 0
    assert out.stdout.splitlines()[0].split() == [
        "NAME",
        "PORT",
        "PROTO",
        "NOW",
        "USED",
        "RESERVED",
        "FROM",
    ]
    assert out.stdout.splitlines()[1].split()[:4] == ["api", str(port), "tcp", "free"]
    data = json.loads(cli("registry", "list", "--json").stdout)
    assert data["path"] == str(reg_path)
    assert [(r["name"], r["port"], r["in_use"]) for r in data["reservations"]] == [("api", port, False)]
    assert json.loads(cli("registry", "--json").stdout) == data
    out = cli("release", "api")
    assert (out.returncode, out.stdout) == (0, f"api: released {port}/tcp\n")
    out = cli("registry", "release", "api", "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout) == {"name": "api", "released": None}
    assert cli("reservations").stdout.startswith("no reservations")


def test_cli_reserve_notes_a_busy_or_unsafe_port(reg_path: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        out = cli("reserve", "mine", "--port", str(port))
        assert out.returncode == 0
        assert f"port {port} is in use now" in out.stderr
        listed = json.loads(cli("reservations", "--json").stdout)["reservations"]
        assert listed[0]["in_use"] is True
    out = cli("reserve", "x11", "--port", "6000")
    assert out.returncode == 0 and "not a good choice: browsers refuse" in out.stderr
    out = cli("reserve", "x", "--port", "80", "--near", "9000")
    assert out.returncode == 2
