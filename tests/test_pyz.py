"""The single-file build: scripts/build-pyz.sh, run by a bare system python3 against real servers.

The archive is run with ``-S`` (no site-packages): nothing but the standard library is importable,
as on a server where nothing was installed. It runs as root and as a real unprivileged user; the
sudo command it prints for a root-owned listener is run as printed (through the real sudo, and
with sudo's secure_path) and must answer.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from infra import REPO, alive, free_port, other_user, require, wait_until

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from servers import Servers

SYSTEM_PYTHON = "/usr/bin/python3"
PYENV_39 = Path.home() / ".pyenv" / "versions" / "3.9.18" / "bin" / "python"
# Debian's sudoers secure_path: what `sudo CMD` searches, whatever the caller's PATH.
USER_DATA_DIR = "user_data_dir('portdoctor', appauthor=False)"
DEBIAN_SECURE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def pyz() -> Iterator[Path]:
    """dist/portdoctor.pyz built into a directory every user can read (not the repo's dist/)."""
    require(os.access(SYSTEM_PYTHON, os.X_OK), f"no {SYSTEM_PYTHON} (apt-get install python3)")
    out_dir = Path(tempfile.mkdtemp(prefix="portdoctor-pyz-"))
    out_dir.chmod(0o755)
    out = out_dir / "portdoctor.pyz"
    try:
        build = subprocess.run(
            ["bash", str(REPO / "scripts" / "build-pyz.sh"), str(out)],
            env={**os.environ, "PYTHON": SYSTEM_PYTHON},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert build.returncode == 0, build.stderr
        yield out
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def pythons() -> list[str]:
    found = [SYSTEM_PYTHON]
    if PYENV_39.exists():
        found.append(str(PYENV_39))
    return found


def run(
    argv: Sequence[str], *, user: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    prefix = []
    if user is not None:
        prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]
    return subprocess.run(
        [*prefix, *argv],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(env) if env is not None else {"PATH": DEBIAN_SECURE_PATH, "HOME": "/nonexistent"},
        cwd="/",
    )


def holder_pids(stdout: str) -> set[int]:
    data = json.loads(stdout)
    return {int(h["pid"]) for h in data["holders"]}


def test_archive_holds_only_portdoctor(pyz: Path) -> None:
    import zipfile

    names = zipfile.ZipFile(pyz).namelist()
    assert "__main__.py" in names
    assert "portdoctor/cli/__init__.py" in names and "portdoctor/platforms/linux.py" in names
    assert not [n for n in names if not n.startswith("portdoctor/") and n != "__main__.py"]
    assert not [n for n in names if "__pycache__" in n]


@pytest.mark.parametrize("python", pythons())
def test_root_finds_and_frees_a_real_server(pyz: Path, servers: Servers, python: str) -> None:
    require(os.geteuid() == 0, "runs the archive as root")
    srv = servers.tcp()
    why = run([python, "-S", str(pyz), "why", str(srv.port), "--json"])
    assert why.returncode == 1, why.stderr
    assert srv.pid in holder_pids(why.stdout)
    assert not why.stderr
    # Its next steps name the file (no `portdoctor` command exists where only the file is).
    steps = [a["command"] for a in json.loads(why.stdout)["actions"] if a["command"]]
    own = [c for c in steps if "portdoctor" in c]
    assert own and all(str(pyz) in c for c in own), steps

    freed = run([python, "-S", str(pyz), "free", str(srv.port)])
    assert freed.returncode == 0, freed.stdout + freed.stderr
    wait_until(lambda: not alive(srv.pid), message=f"pid {srv.pid} to exit")
    again = run([python, "-S", str(pyz), str(srv.port)])
    assert again.returncode == 0, again.stdout


def test_unprivileged_user_sees_its_own_server(pyz: Path, servers: Servers) -> None:
    user = other_user()
    srv = servers.tcp(user=user)
    why = run([SYSTEM_PYTHON, "-S", str(pyz), "why", str(srv.port), "--json"], user=user)
    assert why.returncode == 1, why.stderr
    assert srv.pid in holder_pids(why.stdout)


def _sudo_hint(pyz: Path, port: int, user: str) -> str:
    """What the archive, run by ``user``, says to run for a root-owned listener on ``port``."""
    shown = run([SYSTEM_PYTHON, "-S", str(pyz), "why", str(port), "--json"], user=user)
    assert shown.returncode == 1, shown.stderr
    data = json.loads(shown.stdout)
    assert data["holders"] == []
    hints = {h["hint"] for h in data["hidden"]}
    assert len(hints) == 1, hints
    hint = hints.pop()
    # The human output prints the same command as a next step.
    text = run([SYSTEM_PYTHON, "-S", str(pyz), str(port)], user=user)
    assert hint in text.stdout
    return str(hint)


def test_sudo_hint_of_an_unprivileged_run_works_as_printed(pyz: Path, servers: Servers) -> None:
    user = other_user()
    srv = servers.tcp()  # root's
    hint = _sudo_hint(pyz, srv.port, user)
    assert hint == f"sudo python3 {pyz} why {srv.port}"

    # As sudo would run it: its secure_path, none of our environment.
    words = shlex.split(hint)
    as_root = run(["env", "-i", f"PATH={DEBIAN_SECURE_PATH}", *words[1:], "--json"], env={})
    assert as_root.returncode == 1, as_root.stderr
    assert srv.pid in holder_pids(as_root.stdout)

    # And through the real sudo (root needs no password).
    sudo = shutil.which("sudo", path=DEBIAN_SECURE_PATH)
    require(sudo is not None, "no sudo (apt-get install sudo)")
    through = run(["bash", "-c", hint + " --json"], env={"PATH": "/usr/bin:/bin"})
    assert through.returncode == 1, through.stderr
    assert srv.pid in holder_pids(through.stdout)


def test_sudo_free_of_the_single_file(pyz: Path, servers: Servers) -> None:
    """`sudo python3 portdoctor.pyz free PORT`, as the README says."""
    require(os.geteuid() == 0 and shutil.which("sudo") is not None, "needs root and sudo")
    srv = servers.tcp()
    script = f"cd {shlex.quote(str(pyz.parent))} && sudo python3 portdoctor.pyz free {srv.port}"
    freed = run(["bash", "-c", script])
    assert freed.returncode == 0, freed.stdout + freed.stderr
    wait_until(lambda: not alive(srv.pid), message=f"pid {srv.pid} to exit")


def test_a_missing_optional_dependency_is_one_line(pyz: Path) -> None:
    """The psutil back-end (forced on Linux) without psutil: one line naming it, exit 2."""
    port = free_port()
    env = {"PATH": DEBIAN_SECURE_PATH, "PORTDOCTOR_BACKEND": "generic"}
    for argv in (["why", str(port)], ["ls"], ["free", str(port)]):
        proc = run([SYSTEM_PYTHON, "-S", str(pyz), *argv], env=env)
        assert proc.returncode == 2, (argv, proc.stdout, proc.stderr)
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert "'psutil'" in proc.stderr and "not installed" in proc.stderr


def test_registry_path_without_platformdirs_is_platformdirs_path(pyz: Path, tmp_path: Path) -> None:
    """The archive has no platformdirs: the registry must still land where platformdirs puts it."""
    pytest.importorskip("platformdirs")
    home = tmp_path / "home"
    home.mkdir()
    for xdg in (None, str(tmp_path / "xdg")):
        env = {"PATH": DEBIAN_SECURE_PATH, "HOME": str(home)}
        if xdg:
            env["XDG_DATA_HOME"] = xdg
        proc = run([SYSTEM_PYTHON, "-S", str(pyz), "reservations", "--json"], env=env)
        assert proc.returncode == 0, proc.stderr
        expected = subprocess.run(
            [sys.executable, "-c", f"import platformdirs; print(platformdirs.{USER_DATA_DIR})"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert json.loads(proc.stdout)["path"] == os.path.join(expected, "registry.sqlite3")


def test_too_old_a_python_is_one_line(pyz: Path) -> None:
    old = Path.home() / ".pyenv" / "versions" / "3.6.15" / "bin" / "python"
    if not old.exists():
        pytest.skip("no Python 3.6 (pyenv) here")
    proc = run([str(old), "-S", str(pyz), "3000"])
    assert proc.returncode != 0
    assert proc.stderr.strip().startswith("portdoctor needs Python >= 3.9"), proc.stderr
