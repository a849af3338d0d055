"""The README's quick start, run verbatim: the venv install commands, in a fresh HOME, from a copy
of this checkout; then the installed ``portdoctor`` against a real server, and the sudo command it
prints to an unprivileged user, run through sudo.

Slow (pip builds and installs portdoctor and its dependencies): about 10-30 s.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from infra import REPO, other_user, require

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from servers import Servers

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", "build", "dist", ".dist", "*.pyz", ".*_cache"
)


def console_blocks(markdown: str) -> list[list[str]]:
    """The commands (``$ `` lines) of each ```console block of ``markdown``."""
    blocks = re.findall(r"^```console\n(.*?)^```", markdown, flags=re.S | re.M)
    return [[line[2:] for line in b.splitlines() if line.startswith("$ ")] for b in blocks]


def quick_start_venv() -> list[str]:
    """The README quick start's venv commands, ending with ``portdoctor 3000``."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in console_blocks(section) if any("python3 -m venv" in c for c in b)]
    assert len(blocks) == 1, "README quick start: expected one console block with 'python3 -m venv'"
    commands = blocks[0]
    assert commands[-1] == "portdoctor 3000", commands
    return commands


def test_quick_start_block_is_found() -> None:
    commands = quick_start_venv()
    assert commands[0].startswith("python3 -m venv ")
    assert any(" install ." in c for c in commands)


@pytest.fixture(scope="module")
def installed() -> Iterator[tuple[Path, dict[str, str]]]:
    """(checkout copy, environment) after running the README's venv commands in a fresh HOME."""
    require(shutil.which("python3", path=SYSTEM_PATH) is not None, "no python3 on the system PATH")
    top = Path(tempfile.mkdtemp(prefix="portdoctor-readme-"))
    try:
        top.chmod(0o755)  # the unprivileged user runs the installed command
        home = top / "home"
        home.mkdir(mode=0o755)
        clone = top / "portdoctor"
        shutil.copytree(REPO, clone, ignore=COPY_IGNORE)
        env = {
            "HOME": str(home),
            "PATH": f"{home}/.local/bin:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
        }
        # The index configuration of whoever runs the tests (a mirror, a proxy) still applies.
        env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") or k.endswith("_proxy")})
        user_conf = Path.home() / ".config" / "pip" / "pip.conf"
        if "PIP_CONFIG_FILE" not in env and user_conf.is_file():
            env["PIP_CONFIG_FILE"] = str(user_conf)
        script = "set -e\n" + "\n".join(quick_start_venv()[:-1]) + "\n"
        proc = subprocess.run(
            ["bash", "-c", script],
            cwd=clone,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        yield home, env
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_installed_portdoctor_names_a_real_server(
    installed: tuple[Path, dict[str, str]], servers: Servers
) -> None:
    home, env = installed
    srv = servers.tcp()
    last = quick_start_venv()[-1].replace("3000", str(srv.port))
    proc = subprocess.run(["bash", "-c", last], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"pid {srv.pid}" in proc.stdout
    assert shutil.which("portdoctor", path=env["PATH"]) == f"{home}/.local/bin/portdoctor"


def test_installed_portdoctor_prints_a_sudo_command_that_works(
    installed: tuple[Path, dict[str, str]], servers: Servers
) -> None:
    """An unprivileged user's run, a root-owned listener: the printed sudo command, run, answers."""
    home, env = installed
    user = other_user()
    srv = servers.tcp()  # root's
    shown = subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--",
         "bash", "-c", f"portdoctor why {srv.port} --json"],
        env=env, cwd="/", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 1, shown.stderr
    hints = {h["hint"] for h in json.loads(shown.stdout)["hidden"]}
    script = f"{home}/.local/bin/portdoctor"
    assert hints == {f"sudo {script} why {srv.port}"}, hints

    hint = hints.pop()
    sudo_env = {"PATH": SYSTEM_PATH}
    sudo_path = ":".join(p for p in SYSTEM_PATH.split(":") if not p.startswith("/usr/local"))
    # Run as sudo would run it (its secure_path, a clean environment)...
    words = shlex.split(hint)[1:]
    as_root = subprocess.run(["env", "-i", f"PATH={sudo_path}", *words, "--json"],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert as_root.returncode == 1, as_root.stderr
    assert srv.pid in {h["pid"] for h in json.loads(as_root.stdout)["holders"]}
    # ... and through the real sudo.
    require(shutil.which("sudo", path=SYSTEM_PATH) is not None, "no sudo (apt-get install sudo)")
    through = subprocess.run(["bash", "-c", hint + " --json"], env=sudo_env, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert through.returncode == 1, through.stderr
    assert srv.pid in {h["pid"] for h in json.loads(through.stdout)["holders"]}
