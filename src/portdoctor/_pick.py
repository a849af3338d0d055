"""Pick a port for a new server: free now, and not a port that will bite later.

A candidate is skipped when it is in use (a real bind of the IPv4 and the dual-stack IPv6
wildcard, without SO_REUSEADDR, so TIME_WAIT remnants count too), below 1024, registered to a
service in /etc/services, in the kernel's ephemeral range, reserved by the administrator,
refused by browsers (Chromium's restricted ports), or reserved in the registry for a name.

Order: with ``near`` N, N and up to the end of the range, then below N down to its start.
Without ``near``, the search starts at a point of the range derived from the name (so names
spread over the range and a name tends to get the same port on every machine), or at a
random point when there is no name, and wraps around.
"""

from __future__ import annotations

import random as _random

from .errors import NoFreePort, UsageError, parse_port, parse_protocol, shown
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Container, Iterator, Mapping, Sequence
    from typing import Any, Literal

    from .registry import Registry, Reservation

#: Where ``pick`` looks when neither a range nor ``near`` is given: above the privileged ports
#: and the crowd of defaults at 1024-2999, below the ephemeral ranges (Linux 32768+, IANA 49152+).
DEFAULT_RANGE = (3000, 9999)
#: With ``near`` and no range, the search may go anywhere from here to 65535 (skipping the rest).
NEAR_RANGE = (1024, 65535)

FREE = "free"  # a free port, no name
RESERVED = "reserved"  # a free port, newly reserved for the name
REUSED = "reused"  # the name's existing reservation


# Why a candidate was passed over: one of ranges.unsafe_kind's kinds, or one of these.
IN_USE = "in-use"  # a real bind failed (probe.availability)
REGISTRY = "registry"  # reserved for another name in the registry

# The short words of skip_text, per kind (the long ones are ranges.why_unsafe's).
_SKIP_WORDS = {
    IN_USE: "in use",
    REGISTRY: "reserved for another name",
    "privileged": "binding needs root",
    "well-known": "below 1024",
    "browser-restricted": "refused by browsers",
    "ephemeral": "the kernel's ephemeral range",
    "reserved": "reserved by the administrator",
    "service": "services in /etc/services",
}


class Skip(Record):
    """A run of candidate ports passed over for one reason, in the order the search met them."""

    first: int
    last: int
    reason: str  # IN_USE, REGISTRY or a kind of ranges.unsafe_kind ("ephemeral", "service"...)
    why: str  # the reason in words ("the kernel's ephemeral range 32768-60999 ...")

    @property
    def ports(self) -> str:
        """'32768-60999' or '3000' (lowest first)."""
        lo, hi = sorted((self.first, self.last))
        return str(lo) if lo == hi else f"{lo}-{hi}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see README: JSON schema, pick)."""
        lo, hi = sorted((self.first, self.last))
        return {"first": lo, "last": hi, "count": hi - lo + 1, "reason": self.reason, "why": self.why}


def skip_text(skips: Sequence[Skip], most: int = 3) -> str:
    """The skipped runs in one short phrase: 'skipped 32768-60999: the kernel's ephemeral range'."""
    parts = []
    for s in skips[:most]:
        word = _SKIP_WORDS.get(s.reason, s.reason)
        if s.first == s.last and s.reason in (REGISTRY, "service"):
            word = s.why  # "reserved for 'web'", "redis in /etc/services"
        parts.append(f"{s.ports}: {word}")
    rest = sum(abs(s.last - s.first) + 1 for s in skips[most:])
    if rest:
        parts.append(f"{rest} more port{'s' if rest != 1 else ''}")
    return "skipped " + "; ".join(parts)


class Pick(Record):
    """The port chosen, and why."""

    port: int
    protocol: str
    reason: str  # "free", "reserved" or "reused"
    name: str | None = None
    in_use: bool = False  # only for "reused": the reserved port is busy right now
    reservation: Reservation | None = None
    notes: tuple[str, ...] = ()
    skipped: tuple[Skip, ...] = ()  # the candidates passed over before ``port`` (a new pick only)
    near: int | None = None  # the port asked for (``near``), when one was

    @property
    def moved(self) -> bool:
        """True when the port is not the one asked for (``near``) because ports were skipped."""
        return self.near is not None and self.port != self.near and bool(self.skipped)

    @property
    def moved_text(self) -> str | None:
        """'61000 (skipped 32768-60999: the kernel's ephemeral range)' when :attr:`moved`."""
        return f"{self.port} ({skip_text(self.skipped)})" if self.moved else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see README: JSON schema)."""
        return {
            "port": self.port,
            "protocol": self.protocol,
            "reason": self.reason,
            "name": self.name,
            "in_use": self.in_use,
            "reservation": self.reservation.to_dict() if self.reservation else None,
            "notes": list(self.notes),
            "skipped": [k.to_dict() for k in self.skipped],
        }


def parse_range(text: str) -> tuple[int, int]:
    """Parse ``"A-B"`` (inclusive, A <= B, 1-65535) or raise UsageError with one clear line."""
    first, sep, last = text.strip().partition("-")
    if not sep or not first.strip() or not last.strip():
        raise UsageError(f"invalid range {shown(text)}: expected FIRST-LAST, e.g. 3000-3999")
    lo = parse_port(first, what="range start")
    hi = parse_port(last, what="range end")
    return check_range((lo, hi))


def check_range(rng: tuple[int, int]) -> tuple[int, int]:
    """Return ``rng`` if it is a valid inclusive port range, else raise UsageError."""
    lo, hi = rng
    for p in (lo, hi):
        parse_port(p, what="range bound")
    if lo > hi:
        raise UsageError(f"invalid range {lo}-{hi}: the first port is above the last")
    return lo, hi


def start_for(name: str, rng: tuple[int, int] | None = None) -> int:
    """Where the search for ``name``'s port starts: a stable point of the range from its name."""
    import zlib

    lo, hi = rng or DEFAULT_RANGE
    return lo + zlib.crc32(name.encode()) % (hi - lo + 1)


def candidates(rng: tuple[int, int], *, near: int | None = None, start: int | None = None) -> Iterator[int]:
    """Ports of ``rng`` in search order: ``near`` up, then down; or ``start`` up, wrapping."""
    lo, hi = rng
    if near is not None:
        yield from range(near, hi + 1)
        yield from range(near - 1, lo - 1, -1)
        return
    s = lo if start is None else min(max(start, lo), hi)
    yield from range(s, hi + 1)
    yield from range(lo, s)


def usable(port: int, protocol: str = "tcp") -> bool:
    """True when a server could bind ``port`` on every address now (IPv4 and IPv6 wildcards),
    with SO_REUSEADDR and without: free (``portdoctor.is_free``, probe.availability), and
    nothing else stops it (a low port without privilege)."""
    from .probe import availability

    return availability(port, protocol).bindable


def search(
    *,
    near: int | None = None,
    range: tuple[int, int] | None = None,  # noqa: A002 - the documented keyword
    protocol: str = "tcp",
    exclude: Container[int] | Mapping[int, str] = (),
    start: int | None = None,
    skips: list[Skip] | None = None,
) -> int:
    """The first candidate port that is safe, not in ``exclude`` and free; NoFreePort if none.

    ``exclude`` may map a port to the name it is reserved for (the registry). When ``skips`` is
    a list, the runs of candidates passed over before the port found are appended to it.
    """
    from .ranges import unsafe_kind, why_unsafe

    near = _near(near)
    rng = _range(near, range)
    if start is None and near is None:
        start = _random.randint(*rng)
    passed: list[Skip] = []
    counts: dict[str, int] = {}
    for port in candidates(rng, near=near, start=start):
        if port in exclude:
            reason = REGISTRY
            owner = exclude.get(port) if isinstance(exclude, dict) else None
            why = (
                f"reserved for '{owner}' in the registry" if owner else "reserved for a name in the registry"
            )
        else:
            kind = unsafe_kind(port, protocol)
            if kind is None:
                if usable(port, protocol):
                    if skips is not None:
                        skips.extend(passed)
                    return port
                reason, why = IN_USE, "in use (a bind fails)"
            else:
                reason, why = kind, why_unsafe(port, protocol) or kind
        counts[reason] = counts.get(reason, 0) + 1
        last = passed[-1] if passed else None
        if last is not None and last.reason == reason and abs(port - last.last) == 1:
            # Several names or services in a row are one run, described by its kind.
            generic = _SKIP_WORDS[reason] if reason in (REGISTRY, "service") else last.why
            passed[-1] = last.replace(last=port, why=generic)
        else:
            passed.append(Skip(port, port, reason, why))
    words = {IN_USE: "in use", REGISTRY: "reserved for a name"}
    summary = ", ".join(
        f"{n} {words.get(why, why)}" for why, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    raise NoFreePort(f"no free port in {rng[0]}-{rng[1]}/{protocol}: skipped {summary}")


def _near(near: int | str | None) -> int | None:
    """``near`` as a port number (a port given as text, as ``why`` takes it), or None."""
    return None if near is None else parse_port(near, what="--near port")


def _range(near: int | None, rng: tuple[int, int] | None) -> tuple[int, int]:
    near = _near(near)
    if rng is None:
        if near is None:
            return DEFAULT_RANGE
        return (min(near, NEAR_RANGE[0]), NEAR_RANGE[1])
    rng = check_range(rng)
    if near is not None and not rng[0] <= near <= rng[1]:
        raise UsageError(f"--near {near} is outside the range {rng[0]}-{rng[1]}")
    return rng


def pick(
    *,
    near: int | None = None,
    range: tuple[int, int] | None = None,  # noqa: A002 - the documented keyword
    name: str | None = None,
    protocol: str = "tcp",
    registry: Registry | Literal[False] | None = None,
) -> Pick:
    """Choose a port: the name's reservation (``name``), or a new free and safe port.

    ``registry`` None uses the default registry (``$PORTDOCTOR_REGISTRY`` or the user data
    directory); False uses none. With a ``name``, its reserved port is returned every time; if
    that port is busy right now the Pick says so (``in_use``) instead of moving the reservation.
    Without a name, ports reserved for names are avoided; a registry that cannot be read is
    skipped with a note.
    """
    parse_protocol(protocol)
    near = _near(near)
    rng = _range(near, range)  # validates near and range before anything else
    if registry is None:
        from .registry import Registry

        registry = Registry()
    if name is not None:
        from .registry import check_name

        check_name(name)
        skips: list[Skip] = []
        if registry is False:
            found = search(near=near, range=rng, protocol=protocol, start=start_for(name, rng), skips=skips)
            return Pick(found, protocol, FREE, name, skipped=tuple(skips), near=near)
        r = registry.reserve(name, near=near, range=range, protocol=protocol, skips=skips)
        if r.new:
            return Pick(r.port, protocol, RESERVED, name, reservation=r, skipped=tuple(skips), near=near)
        notes: list[str] = []
        if (range is not None or near is not None) and not rng[0] <= r.port <= rng[1]:
            notes.append(f"'{name}' keeps its reserved port {r.port}, outside {rng[0]}-{rng[1]}")
        elsewhere = _other_directory(r.cwd)
        if elsewhere:
            # Two projects sharing a name would share a port: say so instead of reusing silently.
            notes.append(
                f"'{name}' was reserved from {elsewhere}, not from here: reusing its port {r.port};"
                f" if this is another project, give it another --name"
                f" ('portdoctor release {name}' gives the port up)"
            )
        busy = not usable(r.port, protocol)
        if busy:
            notes.append(
                f"port {r.port} reserved for '{name}' is in use now"
                f" (see 'portdoctor why {r.port}'; 'portdoctor release {name}' to give it up)"
            )
        return Pick(r.port, protocol, REUSED, name, in_use=busy, reservation=r, notes=tuple(notes))
    taken: dict[int, str] = {}
    notes = []
    if registry is not False:
        from .errors import RegistryError

        try:
            taken = registry.ports(protocol)
        except RegistryError as exc:
            notes.append(f"{exc}; picked without the registry")
    passed: list[Skip] = []
    port = search(near=near, range=rng, protocol=protocol, exclude=taken, skips=passed)
    return Pick(port, protocol, FREE, notes=tuple(notes), skipped=tuple(passed), near=near)


def _other_directory(reserved_from: str | None) -> str | None:
    """``reserved_from`` when this directory is neither it nor inside it (another project)."""
    import os

    if not reserved_from:
        return None
    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        return None
    there = os.path.realpath(reserved_from)
    if here == there or here.startswith(there.rstrip(os.sep) + os.sep):
        return None
    return reserved_from
