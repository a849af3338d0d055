"""Reading what other users control: files in their trees and /proc files of their processes.

portdoctor often runs as root (``sudo portdoctor why PORT``) while it looks at processes of any
local user. Everything such a process controls is hostile input: its working directory (and the
``package.json`` there), its environment, its command line, the files its manager keeps in its
home. A FIFO there would hang a plain ``open()``; a link to ``/dev/zero`` would fill memory; a
link to a root-only file would have root read it for them. So every such file is opened here:

- without following a link in its last component (``O_NOFOLLOW``) and without blocking
  (``O_NONBLOCK``: a FIFO or a device opens at once, then ``fstat`` rejects it);
- only when it is a regular file, read with a size cap (``MAX_FILE``: plenty for a manifest);
- /proc files of a process are read with a cap too (``MAX_PROC``): a process chooses the size of
  its own command line and environment. What is kept of them is capped the same way on every
  back-end: ``MAX_CMDLINE`` bytes and ``MAX_FIELDS`` arguments of a command line, ``MAX_PROC``
  bytes and ``MAX_ENV`` entries of an environment (:func:`nul_fields` on Linux, which reads the
  /proc files itself; :func:`cap_fields` for psutil, which hands them over already split).
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

MAX_FILE = 1 << 20  # 1 MiB: a package.json, a pid file, a supervisord.conf
MAX_PROC = 1 << 20  # 1 MiB of a /proc file (ARG_MAX is 2 MiB with an 8 MiB stack, more with more)
MAX_CMDLINE = 256 << 10  # 256 KiB of a command line: a long Java class path fits
MAX_FIELDS = 1024  # arguments kept of a process: each one is an object, and a command line of
# 500,000 two-letter arguments would cost ~50 MB in a tuple of strings
MAX_ENV = 4 * MAX_FIELDS  # environment entries kept of a process

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def read_file(path: str, limit: int = MAX_FILE) -> bytes | None:
    """The bytes of a regular file, or None: a link, a FIFO, a device, unreadable or over ``limit``."""
    try:
        fd = os.open(path, _FLAGS)
    except (OSError, ValueError):
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        data = _read_up_to(fd, limit + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    return None if len(data) > limit else data


def read_text(path: str, limit: int = MAX_FILE) -> str | None:
    """:func:`read_file` decoded as UTF-8 (undecodable bytes replaced), or None."""
    data = read_file(path, limit)
    return None if data is None else data.decode("utf-8", "replace")


def read_proc(path: str, limit: int = MAX_PROC) -> bytes | None:
    """A /proc file of another process, at most ``limit`` bytes (the rest is dropped), or None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        return _read_up_to(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def nul_fields(data: bytes, most: int = MAX_FIELDS) -> list[str]:
    """NUL-separated fields (a command line, an environment), at most ``most`` of them.

    Only ``most`` fields are ever split out of ``data``; when there were more, the last one kept
    is "…" so that a shortened command line says so.
    """
    parts = data.split(b"\0", most)
    # An empty rest after the last split is the terminating NUL of exactly ``most`` fields.
    more = len(parts) > most and parts[-1] != b""
    if len(parts) > most:
        parts = parts[: most - 1] if more else parts[:most]
    while parts and not parts[-1]:
        parts.pop()
    out = [p.decode("utf-8", "surrogateescape") for p in parts]
    if more:
        out.append("…")
    return out


def cap_fields(fields: Iterable[str], most: int = MAX_FIELDS, size: int = MAX_CMDLINE) -> list[str]:
    """Fields already split (psutil's ``cmdline()``, an environment's ``KEY=value`` entries) cut
    as on Linux, where ``size`` bytes of the NUL-separated /proc file are read and
    :func:`nul_fields` keeps ``most`` of them: the same list for the same process.

    The field that crosses ``size`` is cut there; when more than ``most`` remain, the last one
    kept is "…". ``fields`` is consumed only as far as needed.
    """
    out: list[str] = []
    left = size
    for field in fields:
        if left <= 0:
            break
        if len(out) == most:  # one more: as nul_fields, the last kept becomes "…"
            del out[-1]
            while out and not out[-1]:
                out.pop()
            out.append("…")
            return out
        raw = field.encode("utf-8", "surrogateescape")
        if len(raw) >= left:  # the read ends inside this field (or on its NUL)
            out.append(raw[:left].decode("utf-8", "surrogateescape"))
            left = 0
        else:
            out.append(field)
            left -= len(raw) + 1
    while out and not out[-1]:
        out.pop()
    return out


def _read_up_to(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def is_socket_of(path: str, uid: int) -> bool:
    """True when ``path`` is a Unix socket (not a link to one) owned by ``uid``."""
    return _owned(path, uid, stat.S_ISSOCK)


def is_dir_of(path: str, uid: int) -> bool:
    """True when ``path`` is a directory (not a link to one) owned by ``uid``."""
    return _owned(path, uid, stat.S_ISDIR)


def _owned(path: str, uid: int, kind: Callable[[int], bool]) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return kind(st.st_mode) and st.st_uid == uid


__all__ = [
    "MAX_CMDLINE",
    "MAX_ENV",
    "MAX_FIELDS",
    "MAX_FILE",
    "MAX_PROC",
    "cap_fields",
    "is_dir_of",
    "is_socket_of",
    "nul_fields",
    "read_file",
    "read_proc",
    "read_text",
]
