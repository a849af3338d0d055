"""Start-up: the hot path (`portdoctor why PORT`, `check PORT`, `ls`) imports nothing it promised to avoid.

The reasons written in the code (record.py: no dataclasses; cli/__init__.py: no argparse on the
plain parse; inspect.py: no json for the usual manifests; detectors: manager clients only on
evidence) stay true only while a test holds them. Timings live in bench/, not here: this test
checks *what* is imported, which does not depend on the machine's load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from servers import Servers

# Modules the hot path must not import, with the reason it avoids each.
AVOIDED = {
    "dataclasses": "~9 ms with inspect and ast (record.Record instead)",
    "argparse": "~5 ms with gettext and locale (cli._fast_args instead)",
    "psutil": "the Linux back-end reads /proc and netlink itself",
    "json": "~3 ms; manifests are read with a pattern first (inspect._json_name)",
    "subprocess": "no program runs to answer why/check/ls on a plain server",
    "sqlite3": "the registry is for pick/reserve only",
    "platformdirs": "the registry's path is needed by pick/reserve only",
    "textual": "portdoctor ui only",
    "docker": "the Docker SDK is never needed (the Engine API is spoken directly)",
    "shutil": "~2 ms: nothing on the hot path copies files or looks up programs",
    "configparser": "supervisord configs are read only when supervisord is in the chain",
    "re": "~5 ms with enum: quoting.py instead of shlex, string methods instead of patterns",
    "enum": "~3 ms (re and socket's enums): _socket and plain constants",
    "shlex": "it imports re: quoting.py quotes and splits instead",
}

_PROBE = """
import io, sys
before = set(sys.modules)  # (the probe imports nothing before this that the run could need)
from portdoctor.cli import main
real, sys.stdout = sys.stdout, io.StringIO()
try:
    code = main(sys.argv[1:])
finally:
    sys.stdout = real
new = sorted(set(sys.modules) - before)
import json  # only now: json imports re, which the run must not
print(json.dumps({"code": code, "modules": new}), file=sys.stderr)
"""


def _imported(*argv: str) -> tuple[int, set[str]]:
    # json is imported by the probe itself *after* the run; it is checked from the list taken then.
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        # (without the suite's gate check, which asks every detector behind a closed gate)
        env={**{k: v for k, v in os.environ.items() if k != "PORTDOCTOR_CHECK_GATES"}, "NO_COLOR": "1"},
        cwd="/",
    )
    last = done.stderr.strip().splitlines()[-1]
    data = json.loads(last)
    return int(data["code"]), set(data["modules"])


def _check(modules: set[str]) -> None:
    packages = {m.split(".")[0] for m in modules}
    bad = {m: AVOIDED[m] for m in AVOIDED if m in packages}
    assert not bad, f"the hot path imported what it avoids: {bad}"


def test_why_of_a_free_port_imports_nothing_heavy() -> None:
    from infra import free_port

    code, modules = _imported("why", str(free_port()))
    assert code == 0
    _check(modules)


def test_why_and_check_of_a_plain_server_import_nothing_heavy(servers: Servers) -> None:
    srv = servers.tcp()  # type: ignore[attr-defined]
    for argv in (("why", str(srv.port)), (str(srv.port),), ("check", str(srv.port))):
        code, modules = _imported(*argv)
        assert code == 1, argv
        _check(modules)


def test_why_of_a_plain_dev_server_imports_nothing_heavy_and_no_detector_it_has_no_use_for(
    tmp_path: Path,
) -> None:
    # A listener of ours with a live parent: every detector before dev-server is asked, the
    # relaunch table too. (The servers fixture's holders can stop earlier.) Those whose gates
    # (causes/gates.py) the holder gives no reason to open are not imported.
    import json as _json

    from infra import free_port

    port = free_port()
    code = f"import socket,time\ns=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path)
    try:
        from infra import wait_listening

        wait_listening(port, what="the dev server")
        status, modules = _imported("why", str(port))
        assert status == 1
        _check(modules)
        assert {"portdoctor.causes.devserver", "portdoctor.relaunch"} <= modules  # the probe sees them
        unneeded = {f"portdoctor.causes.{n}" for n in ("reloader", "ide", "application", "privileged")}
        assert not modules & unneeded, modules & unneeded
        out = subprocess.run(
            [sys.executable, "-m", "portdoctor", "why", str(port), "--json"],
            capture_output=True, text=True, cwd="/",
        )  # fmt: skip  # (from /, as the probe runs: from this checkout, "another instance of this project")
        kind = _json.loads(out.stdout)["cause"]["kind"]
        assert kind == "dev-server", kind
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("argv", [("ls",), ()])
def test_ls_imports_nothing_heavy(argv: tuple[str, ...]) -> None:
    code, modules = _imported(*argv)
    assert code == 0
    # ls is parsed by argparse (which imports shutil, re and enum)
    _check({m for m in modules if m.split(".")[0] not in ("argparse", "shutil", "re", "enum")})


def test_the_probe_sees_an_import() -> None:
    # The test above could pass by never seeing anything: a command that does import argparse.
    code, modules = _imported("pick", "--near", "40000", "--json", "--no-registry")
    assert "argparse" in modules


def test_the_installed_command_imports_no_re() -> None:
    # setup.py installs bin/portdoctor instead of pip's wrapper, which imports re (~5 ms).
    from pathlib import Path

    from infra import free_port

    script = Path(sys.executable).with_name("portdoctor")
    assert script.read_text().startswith("#!"), script  # the test suite runs from an installed venv
    assert "\nimport re\n" not in script.read_text()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(script), "check", str(free_port())],
        capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stderr.splitlines()
    imported = {line.rsplit("|", 1)[-1].strip() for line in lines if "import time:" in line}
    assert "portdoctor.cli" in imported  # the probe sees imports
    _check(imported)
