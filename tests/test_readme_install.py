"""The README's quick start, run verbatim: the venv, pipx (and, where uv is installed, uv)
commands, in a fresh HOME, from a copy of this checkout; then the installed ``portdoctor`` against
a real server, and the sudo command it prints to an unprivileged user, run through sudo.

Slow (each installer builds and installs portdoctor and its dependencies): 5-15 s each.
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


def quick_start() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def quick_start_commands(installer: str) -> list[str]:
    """The README quick start's commands for ``installer`` (venv, pipx, uv), ending with
    ``portdoctor 3000``."""
    section = quick_start()
    blocks = console_blocks(section)
    if installer == "venv":
        found = [b for b in blocks if any(c.startswith("python3 -m venv ") for c in b)]
    else:
        found = [b for b in blocks if any(c.startswith("pipx install .") for c in b)]
    assert len(found) == 1, f"README quick start: expected one console block for {installer}"
    commands = found[0]
    if installer == "uv":  # "The same with uv: `uv tool install .`"
        assert "The same with uv: `uv tool install .`" in section
        commands = ["uv tool install ." if c.startswith("pipx install .") else c for c in commands]
    assert commands[-1].split("#")[0].strip() == "portdoctor 3000", commands
    return commands


def test_quick_start_blocks_are_found() -> None:
    venv = quick_start_commands("venv")
    assert venv[0].startswith("python3 -m venv ") and any(" install ." in c for c in venv)
    assert quick_start_commands("pipx")[0].startswith("pipx install .")
    assert quick_start_commands("uv")[0].startswith("uv tool install .")


INSTALLERS = {"venv": "python3", "pipx": "pipx", "uv": "uv"}


@pytest.fixture(scope="module", params=sorted(INSTALLERS))
def installed(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """(installer, HOME, environment) after running the README's commands in a fresh HOME."""
    installer: str = request.param
    tool = INSTALLERS[installer]
    if installer == "uv" and shutil.which("uv", path=SYSTEM_PATH) is None:
        pytest.skip("no uv on the system PATH (not installed by .ci/run)")
    require(shutil.which(tool, path=SYSTEM_PATH) is not None, f"no {tool} (apt-get install {tool})")
    top = Path(tempfile.mkdtemp(prefix=f"portdoctor-readme-{installer}-"))
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
        env.update(
            {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "UV_")) or k.endswith("_proxy")}
        )
        user_conf = Path.home() / ".config" / "pip" / "pip.conf"
        if "PIP_CONFIG_FILE" not in env and user_conf.is_file():
            env["PIP_CONFIG_FILE"] = str(user_conf)
        script = "set -e\n" + "\n".join(quick_start_commands(installer)[:-1]) + "\n"
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
        yield installer, home, env
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_installed_portdoctor_names_a_real_server(
    installed: tuple[str, Path, dict[str, str]], servers: Servers
) -> None:
    installer, home, env = installed
    srv = servers.tcp()
    last = quick_start_commands(installer)[-1].replace("3000", str(srv.port))
    proc = subprocess.run(["bash", "-c", last], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"pid {srv.pid}" in proc.stdout
    assert shutil.which("portdoctor", path=env["PATH"]) == f"{home}/.local/bin/portdoctor"


def test_installed_portdoctor_prints_a_sudo_command_that_works(
    installed: tuple[str, Path, dict[str, str]], servers: Servers
) -> None:
    """An unprivileged user's run, a root-owned listener: the printed sudo command, run, answers."""
    _, home, env = installed
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
