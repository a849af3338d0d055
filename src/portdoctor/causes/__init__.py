"""Cause detectors: one module per cause, each with ``detect(ctx) -> Cause | None``.

``diagnose.why`` builds a :class:`Context` once and asks the detectors in :data:`ORDER`; the
first that recognises the situation names the cause. A detector must be cheap when the evidence
does not point at it (no daemon queries, no subprocess) and must say so through ``ctx.note``
when a daemon it asked did not answer.
"""

from __future__ import annotations

import os

from .. import submodule
from ..model import TCP, Action, Cause, Holder, Socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from .._find import Finding
    from ..probe import Availability, BindResult

# Module names under portdoctor.causes, most specific first (tests/test_causes_contract.py checks
# that each exists, has detect(), and that every cause kind a detector returns is in CAUSE_KINDS).
ORDER = (
    "mismatch",  # address-mismatch: what is bound does not conflict with the user's bind
    "windows",  # Windows only: excluded port ranges, services, System (pid 4), WSL relay
    "macos",  # macOS only: AirPlay Receiver, launchd jobs
    "docker",
    "pm2",
    "supervisord",
    "systemd",
    "reloader",  # nodemon, node --watch, uvicorn --reload, the Werkzeug/Django reloaders...
    "ide",
    "application",
    "duplicate",  # before orphan: "another instance of this project" says more (orphan evidence merged)
    "orphan",
    "devserver",  # dev-server: a plain process of your own
    "timewait",  # time-wait: no listener, only remnants
    "privileged",  # privileged-port: EACCES, not EADDRINUSE
    "reserved",  # reserved / ephemeral / browser-restricted
    "unknown",  # the holder cannot be seen, or nothing else fits
)


class Context:
    """What a detector may look at: the finding, what the user wants to bind, cached facts."""

    def __init__(
        self,
        port: int,
        protocol: str,
        finding: Finding,
        host: str | None = None,
        ipv6: bool | None = None,
        reuseaddr: bool | None = None,
        cwd: str | None = None,
        command: tuple[str, ...] = (),
        my_uid: int | None = None,
    ) -> None:
        self.port = port
        self.protocol = protocol
        self.finding = finding
        self.host = host  # the address the user wants to bind (None: the wildcard)
        self.ipv6 = ipv6  # the user's bind is IPv6 (None: not said)
        self.reuseaddr = reuseaddr  # the user's bind sets SO_REUSEADDR (None: not said)
        self.cwd = os.getcwd() if cwd is None else cwd  # the user's working directory
        self.command = command  # the command 'portdoctor run' was asked to start
        if my_uid is None:
            my_uid = os.geteuid() if hasattr(os, "geteuid") else -1
        self.my_uid = my_uid
        self.notes: list[str] = []
        self._cache: dict[str, object] = {}

    @property
    def in_use(self) -> bool:
        """True when a listener in our network namespace holds the port."""
        return self.finding.in_use

    @property
    def listeners(self) -> list[Socket]:
        """Listening sockets (TCP LISTEN, bound UDP) in our network namespace."""
        return [s for s in self.finding.sockets if s.listening and not s.foreign_netns]

    @property
    def holders(self) -> list[Holder]:
        """Processes holding a listening socket in our namespace (the ones that block a bind)."""
        pids = {p for s in self.listeners for p in s.holders}
        return [h for h in self.finding.holders if h.pid in pids]

    def is_mine(self, holder: Holder) -> bool:
        """True when ``holder`` runs as the user running portdoctor (by uid; by name on Windows)."""
        if holder.uid is not None and self.my_uid >= 0:
            return holder.uid == self.my_uid
        if holder.user is None:
            return False
        import getpass

        try:
            me = getpass.getuser()
        except Exception:  # no login name at all (getpass raises several kinds): not yours
            return False
        return holder.user.rsplit("\\", 1)[-1].lower() == me.lower()

    def note(self, text: str) -> None:
        """Record something the user should know (a daemon that did not answer...)."""
        if text not in self.notes:
            self.notes.append(text)

    def environ(self, pid: int) -> dict[str, str] | None:
        """The environment of ``pid`` (cached), None when unreadable."""
        from ..platforms import current as platform

        key = f"environ:{pid}"
        if key not in self._cache:
            self._cache[key] = platform.environ(pid)
        return self._cache[key]  # type: ignore[return-value]

    def availability(self) -> Availability:
        """Whether the port is free by the one definition (probe.availability), cached."""
        key = "availability"
        if key not in self._cache:
            from ..probe import availability

            self._cache[key] = availability(
                self.port, self.protocol, host=self.host, ipv6=self.ipv6, reuseaddr=self.reuseaddr
            )
        return self._cache[key]  # type: ignore[return-value]

    def bind_probe(self) -> BindResult | None:
        """A real bind of the user's address and port (cached)."""
        key = "probe"
        if key not in self._cache:
            from ..probe import IN_USE, can_bind, is_localhost

            reuse = True if self.reuseaddr is None else self.reuseaddr
            port, host, protocol = self.port, self.host, self.protocol
            result = can_bind(port, host=host, protocol=protocol, ipv6=self.ipv6, reuseaddr=reuse)
            if result.ok and self.ipv6 is None and is_localhost(host):
                # localhost may be ::1 too (the resolver, Node 17+, browsers): taken there is taken.
                v6 = can_bind(port, host=host, protocol=protocol, ipv6=True, reuseaddr=reuse)
                if v6.error == IN_USE:
                    result = v6
            self._cache[key] = result
        return self._cache[key]  # type: ignore[return-value]


# Modules whose ``annotate(ctx, cause)`` adds notes whatever cause won (a low or reserved port).
ANNOTATORS = ("privileged", "reserved")


def detect(ctx: Context) -> Cause | None:
    """Ask each detector in order; the first cause found wins (None: the port is simply free)."""
    from .gates import ANNOTATOR_GATES, GATES

    check = os.environ.get(CHECK_GATES) == "1"
    cause: Cause | None = None
    for name in ORDER:
        gate = GATES.get(name)
        if gate is not None and not gate(ctx):
            if check:
                _check_closed(ctx, name, lambda module, shadow: module.detect(shadow))
            continue  # no holder could match: don't pay for importing it
        module = submodule(f"{__name__}.{name}")  # a name in ORDER with no module fails loudly
        cause = module.detect(ctx)
        if cause is not None:
            break
    if cause is not None and any(a.kind == "pick" for a in cause.actions):
        cause = _relaunch(ctx, cause)
    if cause is not None and cause.actions and cause.actions[0].description.startswith("Or "):
        # A step that is first only in some cases ("Or wait until the remnants expire" when no
        # advice comes before it) must not read "1. Or ...".
        first = cause.actions[0]
        text = first.description[3:]
        first = first.replace(description=text[:1].upper() + text[1:])
        cause = cause.replace(actions=(first, *cause.actions[1:]))
    if cause is not None:
        cause = cause.replace(actions=tuple(_own_command(a, ctx.protocol) for a in cause.actions))
    for name in ANNOTATORS:
        gate = ANNOTATOR_GATES.get(name)
        if gate is not None and not gate(ctx):
            if check:
                _check_closed(ctx, name, lambda module, shadow: module.annotate(shadow, cause))
            continue
        submodule(f"{__name__}.{name}").annotate(ctx, cause)
    return cause


# Set to "1" (the test suite does), detect() proves every gate it finds closed (gates.py): the
# detector or annotator behind it is asked anyway, on a copy of the context, and must find nothing
# and note nothing. A gate that would have lost a cause then fails loudly instead of silently.
CHECK_GATES = "PORTDOCTOR_CHECK_GATES"


def _check_closed(ctx: Context, name: str, ask: Callable[[ModuleType, Context], object]) -> None:
    import copy

    shadow = copy.copy(ctx)
    shadow.notes = []
    found = ask(submodule(f"{__name__}.{name}"), shadow)
    if found is not None or shadow.notes:
        said = found if found is not None else shadow.notes
        raise AssertionError(f"the gate of {name} is closed, but {name} has this to say: {said}")


def _own_command(action: Action, protocol: str) -> Action:
    """A next step that runs portdoctor, as it works when copied: ``--udp`` for a UDP port, and
    portdoctor named the way it was started (``python3 /path/portdoctor.pyz``, a venv's path)."""
    command = action.command
    if not command or "portdoctor " not in command:
        return action
    from ..invocation import own_command

    adapted = adapt_commands(command, own_command(), udp=protocol == "udp")
    return action if adapted == command else action.replace(command=adapted)


_SUBCOMMANDS = ("why", "free", "pick", "check", "wait")
_COMMAND_ENDS = "\"')|;&"  # a quote, ')', '|', ';' or '&' ends the command inside a shell line


def _word_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def adapt_commands(line: str, prefix: str, *, udp: bool = False) -> str:
    """``line`` with every ``portdoctor SUB ARGS`` named by ``prefix`` (and given ``--udp``).

    A command starts at the word ``portdoctor`` (not a part of a path or a longer word) followed
    by a subcommand, and runs to the end of the line or to a quote, ``)``, ``|``, ``;`` or ``&``.
    """
    out: list[str] = []
    done = 0  # line[:done] is in out
    at = line.find("portdoctor ")
    while at >= 0:
        args_at = at + len("portdoctor")
        word_end = args_at + 1
        while word_end < len(line) and _word_char(line[word_end]):
            word_end += 1
        before = line[at - 1] if at else " "
        named = line[max(at - 3, 0) : at] == "-m "  # python -m portdoctor: named already (sudo hints)
        part_of_a_word = _word_char(before) or before in "./-"
        if line[args_at + 1 : word_end] not in _SUBCOMMANDS or part_of_a_word or named:
            at = line.find("portdoctor ", at + 1)
            continue
        end = word_end
        while end < len(line) and line[end] not in _COMMAND_ENDS:
            end += 1
        args = line[args_at:end]
        if udp and "--udp" not in args.split():
            args += " --udp"
        out += [line[done:at], prefix, args]
        done = end
        at = line.find("portdoctor ", end)
    return "".join(out) + line[done:]


# Causes whose holder is the user's own server, started by hand: "use another port" relaunches it.
# (A managed holder - pm2, docker, systemd - is moved through its manager, not relaunched.)
_RELAUNCH_HOLDER = ("dev-server", "orphan", "duplicate", "reloader", "address-mismatch")


def _relaunch(ctx: Context, cause: Cause) -> Cause:
    """Make the "use another port" step start the same server on a free port, through its own flag.

    The server is the command ``portdoctor run`` is about to start, else the user's own holder
    (for the causes in _RELAUNCH_HOLDER). Where its port flag is unknown, the step says so.
    """
    mine = [h for h in ctx.holders if ctx.is_mine(h)] if cause.kind in _RELAUNCH_HOLDER else []
    if not ctx.command and not mine:
        return cause  # nothing to relaunch: spare importing the table (~1 ms with shlex and re)
    from ..relaunch import for_command, for_holder
    from .actions import pick_action

    launch = None
    unknown: str | None = None
    if ctx.command:
        launch = for_command(ctx.command, ctx.cwd, ctx.port)
        if launch is None:
            unknown = os.path.basename(ctx.command[0])
    elif mine:
        launch = for_holder(mine[0], ctx.port)
        if launch is None:
            unknown = mine[0].name
    if launch is None and unknown is None:
        return cause
    actions = []
    for a in cause.actions:
        if a.kind == "pick":
            first = not a.description.startswith("Or")
            a = pick_action(ctx.port, first=first, launch=launch, here=ctx.cwd, unknown=unknown)
        actions.append(a)
    details = dict(cause.details)
    details["relaunch"] = launch.to_dict() if launch is not None else None
    return cause.replace(actions=tuple(actions), details=details)


__all__ = ["Context", "ORDER", "TCP", "detect"]
