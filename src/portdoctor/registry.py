"""The port registry: a stable port per name (a project, a service), kept in SQLite.

The database lives at ``platformdirs.user_data_dir("portdoctor")/registry.sqlite3``, or at the
path in ``$PORTDOCTOR_REGISTRY``. Several processes may use it at once: it runs in WAL mode,
every change happens in a ``BEGIN IMMEDIATE`` transaction (one writer at a time, the others
wait up to :data:`BUSY_TIMEOUT` seconds), and ``UNIQUE(port, protocol)`` makes it impossible to
give one port to two names. No lock file of our own.
"""

from __future__ import annotations

import os
import re
import time

from .errors import (
    RegistryError,
    ReservationConflict,
    UsageError,
    parse_port,
    parse_protocol,
)
from .platforms import MACOS, WINDOWS
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

    from ._pick import Skip

ENV = "PORTDOCTOR_REGISTRY"
FILENAME = "registry.sqlite3"
BUSY_TIMEOUT = 10.0  # seconds a writer waits for another one
SCHEMA_VERSION = 1

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_COLUMNS = "name, port, protocol, created, last_used, cwd"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reservations (
    name      TEXT PRIMARY KEY,
    port      INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    protocol  TEXT NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    created   REAL NOT NULL,
    last_used REAL NOT NULL,
    cwd       TEXT,
    UNIQUE (port, protocol)
)
"""


class Reservation(Record):
    """A port remembered for a name."""

    name: str
    port: int
    protocol: str
    created: float  # seconds since the epoch
    last_used: float
    cwd: str | None  # the directory it was reserved from
    new: bool = False  # True when the call that returned it made the reservation


def default_path() -> str:
    """Where the registry lives: ``$PORTDOCTOR_REGISTRY`` or the user's data directory."""
    env = os.environ.get(ENV)
    if env:
        return os.path.expanduser(env)
    return os.path.join(_user_data_dir(), FILENAME)


def _user_data_dir() -> str:
    """platformdirs' ``user_data_dir("portdoctor")``, or the same path without it (it is optional)."""
    try:
        import platformdirs
    except ModuleNotFoundError:
        pass
    else:
        return str(platformdirs.user_data_dir("portdoctor", appauthor=False))

    if WINDOWS:
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    elif MACOS:
        base = os.path.expanduser("~/Library/Application Support")
    else:  # Linux and the BSDs: the XDG base directory
        base = os.environ.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
    return os.path.join(base, "portdoctor")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid reservation name, else raise UsageError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        from .render import escape

        raise UsageError(
            f"invalid name {escape(repr(name))}: use 1-64 letters, digits, '.', '-' or '_',"
            " starting with a letter or digit"
        )
    return name


def _protocol(protocol: str) -> str:
    return parse_protocol(protocol)


class Registry:
    """Reservations of ports by name, in an SQLite file shared by every portdoctor process."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = os.fspath(path) if path is not None else default_path()

    def __repr__(self) -> str:
        return f"Registry({self.path!r})"

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> Reservation | None:
        """The reservation of ``name``, or None."""
        check_name(name)
        rows = self._read(f"SELECT {_COLUMNS} FROM reservations WHERE name = ?", (name,))
        return _reservation(rows[0]) if rows else None

    def all(self) -> list[Reservation]:
        """Every reservation, by port."""
        rows = self._read(f"SELECT {_COLUMNS} FROM reservations ORDER BY port, protocol, name")
        return [_reservation(r) for r in rows]

    def ports(self, protocol: str = "tcp") -> dict[int, str]:
        """{port: name} of the reservations of one protocol."""
        rows = self._read("SELECT port, name FROM reservations WHERE protocol = ?", (_protocol(protocol),))
        return {int(r[0]): str(r[1]) for r in rows}

    # -- changing --------------------------------------------------------------------------

    def reserve(
        self,
        name: str,
        port: int | None = None,
        *,
        near: int | None = None,
        range: tuple[int, int] | None = None,  # noqa: A002 - the documented keyword
        protocol: str = "tcp",
        cwd: str | None = None,
        skips: list[Skip] | None = None,
    ) -> Reservation:
        """Reserve a port for ``name`` (or return its reservation), never one held by another name.

        With ``port`` None, an existing reservation is returned as it is (its last-used time
        updated); otherwise a free, safe port is chosen as :func:`portdoctor.pick` does.
        With ``port`` given, that port is recorded, unless another name holds it or ``name``
        already has a different port (:class:`ReservationConflict`). ``skips``: see
        :func:`portdoctor._pick.search` (the ports passed over when a new port is chosen).
        """
        check_name(name)
        _protocol(protocol)
        if port is not None:
            port = parse_port(port)
        if cwd is None:
            try:
                cwd = os.getcwd()
            except OSError:
                cwd = None
        now = time.time()
        with self._write() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM reservations WHERE name = ?", (name,)).fetchone()
            if row is not None:
                old = _reservation(row)
                if (port is not None and port != old.port) or protocol != old.protocol:
                    raise ReservationConflict(
                        f"'{name}' already has port {old.port}/{old.protocol};"
                        f" release it first (portdoctor release {name})"
                    )
                db.execute("UPDATE reservations SET last_used = ? WHERE name = ?", (now, name))
                return _replace(old, last_used=now)
            taken = {
                int(r[0]): str(r[1])
                for r in db.execute("SELECT port, name FROM reservations WHERE protocol = ?", (protocol,))
            }
            if port is None:
                from ._pick import search, start_for

                port = search(
                    near=near,
                    range=range,
                    protocol=protocol,
                    exclude=taken,
                    start=start_for(name, range),
                    skips=skips,
                )
            elif port in taken:
                raise ReservationConflict(f"port {port}/{protocol} is already reserved for '{taken[port]}'")
            db.execute(
                f"INSERT INTO reservations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (name, port, protocol, now, now, cwd),
            )
            return Reservation(name, port, protocol, now, now, cwd, new=True)

    def touch(self, name: str) -> None:
        """Record that the reservation of ``name`` was used now."""
        check_name(name)
        with self._write() as db:
            db.execute("UPDATE reservations SET last_used = ? WHERE name = ?", (time.time(), name))

    def release(self, name: str) -> Reservation | None:
        """Forget the reservation of ``name``; return it, or None when there was none."""
        check_name(name)
        if not os.path.exists(self.path):
            return None
        with self._write() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM reservations WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM reservations WHERE name = ?", (name,))
            return _reservation(row)

    # -- the database ----------------------------------------------------------------------

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a query; a registry that does not exist yet is empty (and is not created)."""
        if not os.path.exists(self.path):
            return []
        import sqlite3

        db = self._connect()
        try:
            if not _has_table(db):
                _check_foreign(db, self.path)
                return []
            return list(db.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise _error(exc, self.path) from None
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        import sqlite3
        import stat

        try:
            mode = os.stat(self.path).st_mode
        except OSError:
            mode = None  # not there yet: SQLite creates it
        if mode is not None and not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device or a FIFO)"
            raise RegistryError(f"registry {self.path} is {what} (set {ENV} to a file path)")
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        except sqlite3.Error as exc:
            raise _error(exc, self.path) from None
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            db.close()
            raise _error(exc, self.path) from None
        if version > SCHEMA_VERSION:
            db.close()
            raise RegistryError(f"registry {self.path} was written by a newer portdoctor (schema {version})")
        return db

    def _write(self) -> _Transaction:
        """A ``BEGIN IMMEDIATE`` transaction on the registry, created if needed."""
        parent = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(parent, exist_ok=True)
        except OSError as exc:
            raise RegistryError(f"cannot create the registry directory {parent}: {exc.strerror}") from None
        return _Transaction(self)


class _Transaction:
    """``with registry._write() as db``: BEGIN IMMEDIATE ... COMMIT (ROLLBACK on any error)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.db: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        import sqlite3

        path = self.registry.path
        db = self.registry._connect()
        try:
            try:
                db.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                # Another process is switching it to WAL right now: it will be WAL in a moment.
            db.execute("BEGIN IMMEDIATE")
            if not _has_table(db):
                _check_foreign(db, path)
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.Error as exc:
            db.close()
            raise _error(exc, path) from None
        self.db = db
        return db

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        import sqlite3

        db = self.db
        assert db is not None
        try:
            if kind is None:
                db.execute("COMMIT")
            else:
                db.execute("ROLLBACK")
        except sqlite3.Error as error:
            if kind is None:
                raise _error(error, self.registry.path) from None
        finally:
            db.close()
        if isinstance(exc, sqlite3.IntegrityError):
            # UNIQUE(port, protocol) caught a race we did not expect: say it in one line.
            raise ReservationConflict(f"that port is already reserved for another name ({exc})") from None
        if isinstance(exc, sqlite3.Error):
            raise _error(exc, self.registry.path) from None


def _has_table(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reservations'").fetchone()
    return row is not None


def _check_foreign(db: sqlite3.Connection, path: str) -> None:
    """Refuse an SQLite database that holds other tables: it is someone else's file."""
    row = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1").fetchone()
    if row is not None:
        raise RegistryError(
            f"{path} is an SQLite database but not a portdoctor registry (set {ENV} elsewhere)"
        )


def _error(exc: Exception, path: str) -> RegistryError:
    """One clear line for an SQLite error."""
    text = str(exc)
    low = text.lower()
    if "not a database" in low or "malformed" in low or "file is encrypted" in low:
        return RegistryError(
            f"registry {path} is damaged or not an SQLite database ({text});"
            f" move it away to start a new one, or set {ENV}"
        )
    if "disk is full" in low or _disk_full(path):
        return RegistryError(f"cannot write the registry {path}: the disk is full ({text}); free some space")
    if "readonly" in low or "read-only" in low or "unable to open" in low or "disk i/o" in low:
        return RegistryError(
            f"cannot write the registry {path} ({text}); check its permissions, or set {ENV}"
        )
    if "locked" in low or "busy" in low:
        return RegistryError(f"registry {path} is locked by another process (waited {BUSY_TIMEOUT:g} s)")
    return RegistryError(f"registry {path}: {text}")


def _disk_full(path: str) -> bool:
    """True when the file system holding ``path`` has no free block left for us."""
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(path)) or "/")
    except (OSError, AttributeError):
        return False
    return st.f_bavail == 0


def _reservation(row: tuple[Any, ...]) -> Reservation:
    name, port, protocol, created, last_used, cwd = row
    return Reservation(str(name), int(port), str(protocol), float(created), float(last_used), cwd)


def _replace(r: Reservation, **changes: Any) -> Reservation:
    return r.replace(**changes)
