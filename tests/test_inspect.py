"""Facts about a pid: holder(), parents(), project_of()."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from portdoctor.inspect import holder, parents, project_of
from servers import Servers


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return Path(os.path.realpath(tmp_path))


@pytest.mark.parametrize(
    "manifest, text, name",
    [
        ("package.json", json.dumps({"name": "@scope/web", "version": "1.0.0"}), "@scope/web"),
        ("pyproject.toml", '[build-system]\nrequires = []\n\n[project]\nname = "pyapp"\n', "pyapp"),
        ("pyproject.toml", '[tool.poetry]\nname = "poetic"  \nversion = "1"\n', "poetic"),
        ("go.mod", "module example.com/svc\n\ngo 1.22\n", "example.com/svc"),
        ("Cargo.toml", '[package]\nname = "rusty"\nversion = "0.1.0"\n', "rusty"),
        ("composer.json", json.dumps({"name": "acme/site"}), "acme/site"),
    ],
)
def test_project_names(tree: Path, manifest: str, text: str, name: str) -> None:
    (tree / manifest).write_text(text)
    p = project_of(str(tree))
    assert p is not None
    assert (p.name, p.manifest, p.root) == (name, manifest, str(tree))


def test_project_without_a_name_falls_back_to_the_directory(tree: Path) -> None:
    root = tree / "my-app"
    root.mkdir()
    (root / "package.json").write_text(json.dumps({"private": True}))
    p = project_of(str(root))
    assert p is not None
    assert (p.name, p.manifest) == ("my-app", "package.json")


def test_broken_manifest_falls_back_to_the_directory(tree: Path) -> None:
    root = tree / "broken"
    root.mkdir()
    (root / "package.json").write_text("{not json")
    p = project_of(str(root))
    assert p is not None and p.name == "broken"


def test_pyproject_name_in_another_section_is_not_the_project(tree: Path) -> None:
    (tree / "pyproject.toml").write_text('[tool.other]\nname = "nope"\n\n[project]\nname = "yes"\n')
    p = project_of(str(tree))
    assert p is not None and p.name == "yes"


def test_nearest_manifest_wins(tree: Path) -> None:
    (tree / "package.json").write_text(json.dumps({"name": "outer"}))
    inner = tree / "packages" / "inner"
    (inner / "src" / "deep").mkdir(parents=True)
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    p = project_of(str(inner / "src" / "deep"))
    assert p is not None
    assert (p.name, p.root) == ("inner", str(inner))
    outer = project_of(str(tree / "packages"))
    assert outer is not None and outer.name == "outer"


def test_git_only_root(tree: Path) -> None:
    root = tree / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "sub").mkdir()
    p = project_of(str(root / "sub"))
    assert p is not None
    assert (p.name, p.manifest, p.root) == ("repo", ".git", str(root))


def test_no_project(tree: Path) -> None:
    assert project_of(str(tree)) is None
    assert project_of(None) is None
    assert project_of("relative/path") is None
    assert project_of("/") is None


def test_deleted_cwd(tree: Path) -> None:
    (tree / "go.mod").write_text("module x.org/y\n")
    p = project_of(str(tree) + " (deleted)")
    assert p is not None and p.name == "x.org/y"


def test_holder_facts(servers: Servers, tree: Path) -> None:
    (tree / "pyproject.toml").write_text('[project]\nname = "svc"\n')
    srv = servers.tcp(cwd=str(tree))
    h = holder(srv.pid, [srv.inode])
    assert h is not None
    assert h.pid == srv.pid
    assert h.ppid == os.getpid()
    assert list(h.cmdline) == srv.argv
    assert h.command == " ".join(srv.argv)
    assert h.exe is not None and os.path.exists(h.exe)
    assert h.user == pwd.getpwuid(os.geteuid()).pw_name
    assert h.cwd == str(tree)
    assert h.project is not None and h.project.name == "svc"
    assert h.inodes == (srv.inode,)
    assert h.tty is None
    assert h.started is not None
    assert srv.started_before - 2 <= h.started <= srv.started_after + 2
    d = h.to_dict()
    for k in ("pid", "ppid", "name", "cmdline", "user", "cwd", "started", "project", "parents"):
        assert k in d
    json.dumps(d)


def test_parents_up_to_pid_1(servers: Servers) -> None:
    srv = servers.tcp(workers=1)
    [worker] = srv.workers
    chain = parents(srv.pid)  # starting at the server itself
    pids = [p.pid for p in chain]
    assert pids[:2] == [srv.pid, os.getpid()]
    assert pids[-1] == 1
    h = holder(worker)
    assert h is not None
    assert [p.pid for p in h.parents][:3] == [srv.pid, os.getpid(), os.getppid()]
    assert h.parents[-1].pid == 1


def test_holder_of_a_gone_process() -> None:
    p = subprocess.Popen(["true"])
    p.wait()
    assert holder(p.pid) is None


@pytest.mark.skipif(shutil.which("setpriv") is None or os.geteuid() != 0, reason="needs root and setpriv")
def test_holder_of_another_user(servers: Servers) -> None:
    srv = servers.tcp(user="nobody")
    h = holder(srv.pid)
    assert h is not None
    assert h.user == "nobody"
    assert h.uid == pwd.getpwnam("nobody").pw_uid
    assert h.cwd == "/"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('{\n  "author": {\n    "name": "bob"\n  },\n  "name": "real"\n}', "real"),
        ('{"name": "demo", "x": 1}', "demo"),
        ('{"version":"1","name":"x"}', "x"),
        ('{\n\t"name": "tabbed"\n}', "tabbed"),
        ('{\n  "name": "esc\\"aped"\n}', 'esc"aped'),
        ('{\n  "private": true\n}', None),
        ('{\n  "name": ""\n}', None),
    ],
)
def test_json_manifest_name_fast_and_exact(text: str, name: str | None) -> None:
    from portdoctor.inspect import _json_name

    assert _json_name(text) == name
