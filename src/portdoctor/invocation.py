"""How to run portdoctor again, the way it was started: the commands portdoctor prints for sudo.

``sudo portdoctor why 3000`` is "command not found" for every venv, pipx, ``--user`` or single-file
(``portdoctor.pyz``) install: sudo replaces PATH with its ``secure_path``, which holds none of
them. So a hint names portdoctor by the path that works for root:

- a console script (``pip``/``pipx``/``uv tool install``): plain ``portdoctor`` only when that
  same file is what sudo's PATH finds, else its absolute path (its shebang names its own Python,
  so root runs the same install);
- the single file: ``python3 /abs/path/portdoctor.pyz`` (any python3 >= 3.9 runs it);
- ``python -m portdoctor``: ``/abs/path/python -m portdoctor`` (that interpreter finds the package).

When portdoctor is used as a library (from a test, a script), the hint says ``portdoctor``.
"""

from __future__ import annotations

import os
import sys

from .quoting import join as shell_join

__all__ = ["SUDO_PATH", "own_command", "self_command", "sudo_command", "which"]

# The directories every common sudoers secure_path holds (Debian/Ubuntu add /usr/local/*, RHEL 8
# and Fedora did not): a command found here runs under sudo by its name.
SUDO_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def which(name: str, path: str | None = None) -> str | None:
    """``name`` on ``path`` (default: PATH) as a shell would find it (shutil costs ~2 ms to import)."""
    for d in (os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep):
        candidate = os.path.join(d or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _on_sudo_path(name: str, path: str) -> bool:
    """True if running ``name`` under sudo would run the file at ``path``."""
    found = which(name, SUDO_PATH)
    return found is not None and _same_file(found, path)


def _archive() -> str | None:
    """The single-file build (``portdoctor.pyz``) this code runs from, if any."""
    package = os.path.dirname(os.path.abspath(__file__))  # .../portdoctor.pyz/portdoctor
    archive = os.path.dirname(package)
    return archive if os.path.isfile(archive) else None


def _python() -> str:
    """The interpreter word for the single file: ``python3`` when sudo finds one, else ours."""
    return "python3" if which("python3", SUDO_PATH) else os.path.abspath(sys.executable)


def _prefix() -> list[str]:
    """The words that start this portdoctor again, from any directory and for root."""
    archive = _archive()
    if archive is not None:
        return [_python(), archive]
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and getattr(spec, "name", None) == "portdoctor.__main__" and sys.executable:
        return [os.path.abspath(sys.executable), "-m", "portdoctor"]
    arg0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(arg0) == "portdoctor" and os.path.isfile(arg0):
        script = os.path.abspath(arg0)
        return ["portdoctor"] if _on_sudo_path("portdoctor", script) else [script]
    return ["portdoctor"]


def self_command(*args: str) -> str:
    """A shell command line running this portdoctor with ``args`` (as root would need it)."""
    return shell_join([*_prefix(), *args])


def own_command(*args: str) -> str:
    """A shell command line that runs portdoctor with ``args`` for the user who ran it: plain
    ``portdoctor`` when their PATH has it, else the single file or the interpreter that runs it."""
    if _archive() is None and which("portdoctor"):
        return shell_join(["portdoctor", *args])
    return self_command(*args)


def sudo_command(*args: str) -> str:
    """``sudo`` + :func:`self_command`: the command that works under sudo for this install."""
    return "sudo " + self_command(*args)
