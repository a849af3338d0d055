"""Facts about a pid: command line, user, cwd, start time, parent chain and project."""

from __future__ import annotations

import os

from .model import Holder, ProcessRef, Project
from .platforms import current as platform

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .platforms.common import ProcessFacts

# Manifests that name a project, nearest first wins; '.git' marks a root without a name file.
MANIFESTS = (
    "package.json",
    "pyproject.toml",
    "go.mod",
    "Cargo.toml",
    "setup.py",
    "composer.json",
    "Gemfile",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "mix.exs",
    "deno.json",
    ".git",
)


def holder(
    pid: int, inodes: Iterable[int] = (), *, cache: dict[int, ProcessFacts | None] | None = None
) -> Holder | None:
    """Everything we know about the process ``pid``; None when it is gone."""
    cache = {} if cache is None else cache
    facts = _facts(pid, cache)
    if facts is None:
        return None
    return Holder(
        pid=facts.pid,
        ppid=facts.ppid,
        name=facts.name,
        cmdline=facts.cmdline,
        exe=facts.exe,
        uid=facts.uid,
        user=facts.user,
        cwd=facts.cwd,
        started=facts.started,
        tty=facts.tty,
        project=project_of(facts.cwd),
        parents=parents(facts.ppid, cache=cache),
        inodes=tuple(sorted(set(inodes))),
        cgroup=platform.cgroup(pid),
    )


def _facts(pid: int, cache: dict[int, ProcessFacts | None]) -> ProcessFacts | None:
    if pid not in cache:
        cache[pid] = platform.process(pid)
    return cache[pid]


def parents(ppid: int, *, cache: dict[int, ProcessFacts | None] | None = None) -> tuple[ProcessRef, ...]:
    """The parent chain starting at ``ppid``, up to pid 1 (or the first we cannot see)."""
    cache = {} if cache is None else cache
    chain: list[ProcessRef] = []
    seen: set[int] = set()
    pid = ppid
    while pid > 0 and pid not in seen and len(chain) < 64:
        seen.add(pid)
        facts = _facts(pid, cache)
        if facts is None:
            break
        chain.append(ProcessRef(pid=pid, name=facts.name, cmdline=facts.cmdline, uid=facts.uid))
        pid = facts.ppid
    return tuple(chain)


def project_of(cwd: str | None) -> Project | None:
    """The nearest project above ``cwd`` (a manifest file or a .git), or None."""
    if not cwd or not os.path.isabs(cwd):
        return None
    if cwd.endswith(" (deleted)"):
        cwd = cwd[: -len(" (deleted)")]
    home = os.path.expanduser("~")
    d = os.path.normpath(cwd)
    while True:
        if d in ("/", home) and d != cwd:
            return None
        if d != "/":
            for manifest in MANIFESTS:
                path = os.path.join(d, manifest)
                if os.path.exists(path):
                    return Project(
                        name=_project_name(path, manifest) or os.path.basename(d), root=d, manifest=manifest
                    )
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _project_name(path: str, manifest: str) -> str | None:
    """The name a manifest gives its project. The file is in a tree another user may control: it
    is read without following links or blocking, only if regular, and at most 1 MiB of it."""
    from .untrusted import read_text

    if manifest == ".git":
        return None
    text = read_text(path)
    if text is None:
        return None
    try:
        if manifest in ("package.json", "composer.json", "deno.json"):
            return _json_name(text)
        if manifest in ("pyproject.toml", "Cargo.toml"):
            return _toml_name(text, ("[project]", "[tool.poetry]", "[package]"))
        if manifest == "go.mod":
            for line in text.splitlines():
                if line.startswith("module "):
                    return line.split()[1].strip()
    except (ValueError, AttributeError, IndexError, RecursionError):
        return None
    return None


def _json_name(text: str) -> str | None:
    """The top-level ``name`` of a JSON manifest.

    In the layouts tools write (one key per line, or ``{"name": ...`` first), the line holding a
    top-level key has the first key's indentation: a pattern finds it there and spares the json
    module (~3 ms of start-up). Anything else is parsed properly.
    """
    import re

    first = re.match(r'\s*\{[ \t]*(\n?)([ \t]*)"', text)
    if first:
        if first.group(1):
            pattern = rf'^{re.escape(first.group(2))}"name"\s*:\s*"([^"\\\n]*)"\s*[,}}\n]'
            m = re.search(pattern, text, re.M)
        else:
            m = re.match(r'\s*\{\s*"name"\s*:\s*"([^"\\\n]*)"\s*[,}]', text)
        if m:
            return m.group(1) or None
    import json

    name = json.loads(text).get("name")
    return name if isinstance(name, str) and name else None


def _toml_name(text: str, sections: tuple[str, ...]) -> str | None:
    """The ``name = "..."`` of the first of ``sections``: a line scan, no TOML parser needed."""
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line.split("#", 1)[0].strip()
            continue
        if section in sections and line.startswith("name"):
            key, sep, value = line.partition("=")
            if sep and key.strip() == "name":
                return value.strip().strip("\"'") or None
    return None
