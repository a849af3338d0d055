"""The stop plan: what ``free`` will do for a port, decided from its diagnosis before anything
is touched (the first half of ``free(port) = execute(plan(port))``; _free.py executes it).

The plan uses the cause: a manager's own stop command (``pm2 stop``, ``docker stop``,
``supervisorctl stop``, ``systemctl stop``) when the diagnosis names one (its program found on
portdoctor's own PATH, run as the manager's user, confirmed against the holder), the reloader and
its child together for a reloader, else the holders themselves (the topmost process of a forked
worker group first, then the processes left holding connections). Refusals are decided here:
pid 1, kernel threads, portdoctor and its ancestors always; another user's process or manager,
a protected service or a shared daemon without ``force``. It also says whether anything in the
holder's chain could start it again (``respawn_risk``), which decides how long ``free`` watches.
"""

from __future__ import annotations

import os

from .causes.argv import title_words
from .errors import PermissionProblem, parse_port, parse_protocol
from .model import TCP, UDP
from .platforms import WINDOWS
from .quoting import join as shell_join
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .model import Account, Diagnosis, Holder, ProcessRef, Stop

DEFAULT_TIMEOUT = 5.0  # seconds to wait for the port after a graceful stop
# Seconds a manager's client has to answer the check before its stop (`pm2 pid NAME`,
# `supervisorctl pid NAME`: read-only, and quick when the daemon is alive: 0.2-0.5 s here). A
# daemon that accepts and never answers (hung, or another user's fake) is given up on then,
# instead of holding `free` for the stop command's own, much longer, bound.
ANSWER_TIMEOUT = 5.0
COMMAND_TIMEOUT = 60.0  # at least this long for one's own manager's stop (docker stop waits 10 s)
# Seconds the stop command of *another user's* manager gets (`pm2 stop APP`, `supervisorctl stop
# NAME`, run as that user), or the user's --timeout if larger: the check's ANSWER_TIMEOUT plus
# supervisord's default stopwaitsecs (10 s; PM2's kill_timeout is 1.6 s). That user controls the
# daemon and may stall the stop after answering the check (a fake, or a watcher of theirs that
# SIGSTOPs the client); root's own manager keeps the longer COMMAND_TIMEOUT.
FOREIGN_STOP_TIMEOUT = ANSWER_TIMEOUT + 10.0
GRACE = 1.0  # seconds the workers of a group get to follow their master before we signal them
SETTLE = 1.0  # seconds we watch a released port for a respawned listener
TERM = "terminate" if WINDOWS else "SIGTERM"
KILL = "kill" if WINDOWS else "SIGKILL"

class Target(Record):
    """A process to signal, identified by its pid *and* its start time (a pid alone is recycled)."""

    pid: int
    name: str
    started: float | None  # seconds since the epoch, as the diagnosis saw it
    cmdline: tuple[str, ...] = ()
    uid: int | None = None
    user: str | None = None
    follower: bool = False  # a forked worker: signalled only if still alive after its master
    inodes: tuple[int, ...] = ()  # its sockets on the port (listening or not)
    parents: tuple[ProcessRef, ...] = ()  # parent first
    _unhashed = ("inodes", "parents")

    @property
    def label(self) -> str:
        """'pid 42 (node server.js)', its command cut to 44 characters, for sentences (not escaped)."""
        return self._label(44)

    @property
    def full_label(self) -> str:
        """The label with the whole command line: a step's target (the table cuts it to fit)."""
        return self._label(None)

    def _label(self, most: int | None) -> str:
        if self.cmdline:
            what = " ".join((os.path.basename(self.cmdline[0]), *self.cmdline[1:]))
        else:
            what = self.name
        if most is not None and len(what) > most:
            what = what[: most - 1] + "…"
        return f"pid {self.pid} ({what})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "pid": self.pid,
            "name": self.name,
            "cmdline": list(self.cmdline),
            "user": self.user,
            "started": self.started,
        }

    @classmethod
    def of(cls, h: Holder, *, follower: bool = False) -> Target:
        """The target for a holder of the diagnosis."""
        return cls(h.pid, h.name, h.started, h.cmdline, h.uid, h.user, follower, h.inodes, h.parents)


class Step(Record):
    """One thing ``free`` did (or, in a dry run, would do), its outcome and how long it took."""

    action: str  # "run", "SIGTERM", "SIGKILL", "terminate", "kill", "wait", "verify"
    target: str  # "pid 42 (node server.js)", "pm2 stop web", "port 3000/tcp"
    result: str  # "sent", "already gone", "released", "free", "still held by ...", "planned"...
    seconds: float = 0.0
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "action": self.action,
            "target": self.target,
            "pid": self.pid,
            "result": self.result,
            "seconds": round(self.seconds, 3),
        }


class Plan(Record):
    """What ``free`` will do for one port, decided from the diagnosis before anything is touched."""

    port: int
    protocol: str
    in_use: bool
    cause: str | None = None  # the cause's kind
    summary: str | None = None  # the cause's summary
    manager: str | None = None
    command: tuple[str, ...] = ()  # the manager's stop command (its program found on our PATH)
    env: Mapping[str, str] = {}  # a frozen record: never mutated
    run_as: Account | None = None  # run the command as this user (another user's manager, --force)
    confirm: tuple[str, ...] = ()  # run first: its output must name one of ``confirm_pids``
    confirm_pids: tuple[int, ...] = ()
    targets: tuple[Target, ...] = ()  # processes to signal (masters first, followers flagged)
    holders: tuple[Target, ...] = ()  # who held the port at diagnosis time
    inodes: frozenset[int] = frozenset()  # its listening sockets at diagnosis time
    shared: bool = False
    refused: tuple[str, ...] = ()  # reasons not to act (non-empty: nothing is done)
    # With a manager's check or another user's manager: why its holders will not be signalled
    # instead when the manager does not answer its check within ANSWER_TIMEOUT, or its stop does
    # not finish within stop_timeout() (empty: they will be, as without a manager).
    fallback_refused: tuple[str, ...] = ()

    def steps(self, *, force: bool = False, timeout: float = DEFAULT_TIMEOUT) -> list[Step]:
        """The steps a run would take, each with the result 'planned' (the dry run)."""
        where = f"port {self.port}/{self.protocol}"
        if not self.in_use:
            return [Step("verify", where, "already free")]
        out: list[Step] = []
        if self.command:
            who = f" as {self.run_as.name}" if self.run_as else ""
            if self.confirm:
                silent = (
                    f"else {TERM} to the holder" if not self.fallback_refused else "else nothing is stopped"
                )
                out.append(
                    Step(
                        "check",
                        shell_join(self.confirm),
                        f"planned{who}: must name the holder within {ANSWER_TIMEOUT:g}s ({silent})",
                    )
                )
            bound = ""
            if self.run_as is not None:
                silent = (
                    f"else {TERM} to the holder" if not self.fallback_refused else "else nothing more is done"
                )
                bound = f": must finish within {stop_timeout(self, timeout):g}s ({silent})"
            out.append(Step("run", shell_join(self.command), f"planned{who}{bound}"))
        leaders = [t for t in self.targets if not t.follower]
        followers = [t for t in self.targets if t.follower]
        out.extend(Step(TERM, t.full_label, "planned", pid=t.pid) for t in leaders)
        out.extend(
            Step(TERM, t.full_label, f"planned if still alive after {GRACE:g}s", pid=t.pid) for t in followers
        )
        out.append(Step("wait", where, f"planned: up to {timeout:g}s for the port to be released"))
        if self.targets:
            when = "if still held" if force else "only with --force or after asking"
            out.extend(Step(KILL, t.full_label, f"planned {when}", pid=t.pid) for t in self.targets)
        risk = respawn_risk(self)
        watch = f"watch {SETTLE:g}s for a respawn ({risk})" if risk else "no respawn watch: " + NO_RESPAWNER
        out.append(Step("verify", where, f"planned: {watch}"))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "port": self.port,
            "protocol": self.protocol,
            "in_use": self.in_use,
            "cause": self.cause,
            "manager": self.manager,
            "command": list(self.command) or None,
            "run_as": self.run_as.name if self.run_as else None,
            "targets": [t.to_dict() for t in self.targets],
            "holders": [t.to_dict() for t in self.holders],
            "shared": self.shared,
            "refused": list(self.refused),
        }


# --- planning --------------------------------------------------------------------------------


def plan(
    port: int | str,
    protocol: str = TCP,
    *,
    force: bool = False,
    signal_managers: bool = True,
    diagnosis: Diagnosis | None = None,
) -> Plan:
    """Decide how to free ``port`` from its diagnosis; nothing is touched yet.

    ``signal_managers`` False ignores a manager's stop command and signals the holders.
    """
    from .diagnose import why

    number = parse_port(port)
    parse_protocol(protocol)
    d = diagnosis if diagnosis is not None else why(number, protocol)
    cause = d.cause
    details: dict[str, Any] = dict(cause.details) if cause else {}
    listen = [s for s in d.sockets if s.listening and not s.foreign_netns]
    kept = _connection_holders(d)  # accepted connections that keep the port from a plain bind
    base = Plan(
        port=number,
        protocol=protocol,
        in_use=d.in_use or bool(kept),
        cause=cause.kind if cause else None,
        summary=cause.summary if cause else None,
        manager=details.get("manager") if isinstance(details.get("manager"), str) else None,
        inodes=frozenset(s.inode for s in listen if s.inode),
        shared=bool(details.get("shared")),
    )
    if not base.in_use:
        return base
    held = {p for s in listen for p in s.holders} | kept
    holders = [h for h in d.holders if h.pid in held]
    if not holders:
        # A hidden holder with a hint is one sudo would show: the hint is this stop, under sudo
        # (the back-end's hint is `why`, the question of a read-only command).
        if any(h.hint for h in d.hidden):
            from .invocation import sudo_command

            udp = ("--udp",) if protocol == UDP else ()
            hint = f" (try: {sudo_command('free', str(number), *udp)})"
        else:
            hint = " (run as root or as the owner)"
        raise PermissionProblem(f"port {number}/{protocol} is in use but its holder cannot be seen{hint}")
    holder_targets = tuple(_group(holders))
    stop = cause.stop if cause is not None and signal_managers else None
    refused: list[str] = []
    command: tuple[str, ...] = ()
    confirm: tuple[str, ...] = ()
    run_as: Account | None = None
    targets: tuple[Target, ...] = holder_targets
    if stop is not None and stop.argv:
        command, confirm, run_as, refused = _manager_command(stop, holder_targets, force=force)
        targets = ()
    elif stop is not None and stop.signal_pids:
        targets = tuple(_targets_for(p, d) for p in stop.signal_pids)
        named = {t.pid for t in targets}
        targets += tuple(t for t in holder_targets if t.pid not in named)
    kind = cause.kind if cause else None
    refused += _refusals(base, details, command, targets, holder_targets, force=force, kind=kind)
    fallback = _fallback_refusals(base, details, holder_targets, force=force, kind=kind)
    return Plan(
        port=base.port,
        protocol=base.protocol,
        in_use=True,
        cause=base.cause,
        summary=base.summary,
        manager=base.manager,
        command=command,
        env=dict(stop.env) if stop is not None and command else {},
        run_as=run_as,
        confirm=confirm,
        confirm_pids=stop.pids if stop is not None and confirm else (),
        targets=targets,
        holders=holder_targets,
        inodes=base.inodes,
        shared=base.shared,
        refused=tuple(refused),
        fallback_refused=tuple(fallback) if confirm or run_as is not None else (),
    )


def stop_timeout(plan: Plan, timeout: float) -> float:
    """Seconds the manager's stop command of ``plan`` may run: FOREIGN_STOP_TIMEOUT for another
    user's manager, COMMAND_TIMEOUT for one's own; ``timeout`` (the user's --timeout) if larger."""
    return max(FOREIGN_STOP_TIMEOUT if plan.run_as is not None else COMMAND_TIMEOUT, timeout)


def _fallback_refusals(
    base: Plan, details: dict[str, Any], holders: Sequence[Target], *, force: bool, kind: str | None
) -> list[str]:
    """Why the holders must not be signalled when their manager does not answer (see Plan).

    The fallback keeps to the plan's scope: the processes the manager would have stopped, under
    the refusals of a plain signal with ``--force`` (never pid 1, a kernel thread, portdoctor or
    its ancestors). The manager's own daemon holding the port (PM2's cluster mode) is never
    signalled this way: that stops every app it runs, far more than the plan said.
    """
    reasons = _refusals(base, details, (), holders, holders, force=True, kind=kind)
    if base.shared:
        names = ", ".join(t.label for t in holders) or "the holder"
        reasons.append(
            f"{names} is the {base.manager or 'manager'}'s own daemon: signalling it stops everything it runs"
        )
    if not force:
        reasons.append("signalling the holder instead needs --force")
    return reasons


def _manager_command(
    stop: Stop, holders: Sequence[Target], *, force: bool
) -> tuple[tuple[str, ...], tuple[str, ...], Account | None, list[str]]:
    """(command, confirm command, user to run them as, refusals) for a manager's stop.

    The program is looked up on portdoctor's own PATH only, in places no other user can change;
    another user's manager is acted on only with ``force``, and then as that user. A manager of
    a user (PM2, supervisord, a user's systemd) that runs the holder as yet another user (PM2's
    ``--uid``, supervisord's ``user=``) is that user's process too: ``force`` again.
    """
    from .command import account, find_program

    shown = " ".join([*(f"{k}={v}" for k, v in stop.env), *stop.argv])
    refused: list[str] = []
    exe = find_program(stop.argv[0])
    if exe is None:
        refused.append(
            f"{stop.argv[0]} is not on portdoctor's PATH, or lies where other users can write; "
            f"run it yourself: {shown}"
        )
    run_as: Account | None = None
    me = os.geteuid() if hasattr(os, "geteuid") else None
    if stop.uid is not None and me is not None and stop.uid != me:
        owner = account(stop.uid)
        name = owner.name if owner else f"uid {stop.uid}"
        if not force:
            refused.append(
                f"the {stop.manager} that runs it belongs to {name}, not you; "
                f"use --force to stop it (portdoctor then runs `{shown}` as {name})"
            )
        elif me != 0:
            refused.append(f"the {stop.manager} that runs it belongs to {name}: acting as {name} needs root")
        elif owner is None:
            refused.append(f"the {stop.manager} that runs it belongs to uid {stop.uid}, which has no account")
        run_as = owner
    if stop.uid is not None and me is not None and not force:
        for t in holders:
            if not _same_user(t) and t.uid != stop.uid:
                refused.append(f"{t.label} belongs to {t.user or f'uid {t.uid}'}, not you; use --force")
    command = (exe or stop.argv[0], *stop.argv[1:])
    confirm = (exe or stop.confirm[0], *stop.confirm[1:]) if stop.confirm else ()
    return command, confirm, run_as, refused


def _group(holders: Sequence[Holder]) -> list[Target]:
    """Holders as targets: the top of each forked worker group first, its workers as followers."""
    pids = {h.pid for h in holders}
    top = [Target.of(h) for h in holders if h.ppid not in pids]
    workers = [Target.of(h, follower=True) for h in holders if h.ppid in pids]
    return top + workers


def _connection_holders(d: Diagnosis) -> set[int]:
    """Pids that hold an accepted TCP connection on the port (its local port) but not a listener.

    Such a connection makes a bind without SO_REUSEADDR fail after the listener is gone: a forked
    child of the server (socat fork, a forking Python server) or a process the socket was passed
    to. A connection counts as accepted when the port is outside the ephemeral range (no outgoing
    connection gets it by chance), when its holder descends from a listener holder, or when its
    peer's port is ephemeral (a client's); an outgoing connection of another program that the
    kernel happened to give this port is not a target (``free`` names it instead).
    """
    if d.protocol != TCP:
        return set()
    from .ranges import ephemeral_range

    lo, hi = ephemeral_range()
    listeners = {p for s in d.sockets if s.listening and not s.foreign_netns for p in s.holders}
    out: set[int] = set()
    for s in d.sockets:
        if s.listening or s.foreign_netns or s.port != d.port or not s.holders:
            continue
        for pid in s.holders:
            if pid in listeners or pid in out:
                continue
            h = d.holder(pid)
            if h is None:
                continue
            forked = any(ref.pid in listeners for ref in h.parents)
            peer = s.remote_port is not None and lo <= s.remote_port <= hi
            if not lo <= d.port <= hi or forked or peer:
                out.add(pid)
    return out


def _targets_for(pid: int, d: Diagnosis) -> Target:
    h = d.holder(pid)
    if h is not None:
        return Target.of(h)
    from .platforms import current as platform

    facts = platform.process(pid)
    if facts is None:  # gone since the diagnosis: kept, its pin reports "already gone"
        return Target(pid, "?", None)
    return Target(pid, facts.name, facts.started, facts.cmdline, facts.uid, facts.user)


def _ancestors() -> dict[int, str]:
    """portdoctor's own pid and every ancestor's (the shell, the terminal...) -> its name."""
    from .platforms import current as platform

    out: dict[int, str] = {}
    pid = os.getpid()
    while pid > 0 and pid not in out and len(out) < 256:
        facts = platform.process(pid)
        if facts is None:
            break
        out[pid] = facts.name
        pid = facts.ppid
    return out


def _refusals(
    base: Plan,
    details: dict[str, Any],
    command: tuple[str, ...],
    targets: Sequence[Target],
    holders: Sequence[Target],
    *,
    force: bool,
    kind: str | None,
) -> list[str]:
    from .platforms import current as platform

    reasons: list[str] = []
    mine = _ancestors()
    for t in {t.pid: t for t in (*holders, *targets)}.values():
        if t.pid == os.getpid():
            reasons.append(f"{t.label} is portdoctor itself")
        elif t.pid in mine:
            reasons.append(f"{t.label} is an ancestor of portdoctor (the shell or program running it)")
    for t in targets:
        facts = platform.process(t.pid)
        if t.pid in (0, 1):
            reasons.append(f"{t.label} is the init process; stop its service instead")
        elif t.pid == 2 or (facts is not None and (facts.kernel_thread or facts.ppid == 2)):
            reasons.append(f"{t.label} is a kernel thread")
    if force:
        return reasons
    theirs = [t for t in targets if not _same_user(t)]
    for t in theirs:
        reasons.append(f"{t.label} belongs to {t.user or f'uid {t.uid}'}, not you; use --force")
    # "application" is also the cause of another user's plain process: that reason says it all.
    if details.get("protected") or (kind == "application" and not theirs):
        reasons.append(
            f"the diagnosis calls it a service that should not be killed ({kind}); "
            "use --force to stop it anyway"
        )
    if base.shared and not command:
        names = ", ".join(t.label for t in targets) or "the holder"
        reasons.append(
            f"{names} is a shared daemon: stopping it takes down everything it runs; "
            "stop the app through its manager, or use --force"
        )
    return reasons


def _same_user(t: Target) -> bool:
    if hasattr(os, "geteuid"):
        return t.uid is None or t.uid == os.geteuid()
    if t.user is None:  # pragma: no cover - Windows
        return True
    import getpass

    mine = getpass.getuser().lower()
    return t.user.lower().rsplit("\\", 1)[-1] == mine  # pragma: no cover - Windows


# --- who can restart a holder -----------------------------------------------------------------

NO_RESPAWNER = "nothing in the holder's chain restarts it"
REMNANT_SECONDS = 60  # Linux: TCP_TIMEWAIT_LEN, and tcp_fin_timeout's default for FIN_WAIT2
# Causes whose manager restarts what it runs. Not dev-server (a plain process of yours, e.g. a
# server started from a terminal): its parent chain, walked below, says whether anything restarts it.
_RESPAWNING_CAUSES = frozenset(
    {"pm2", "docker", "systemd", "supervisord", "nodemon", "ide", "launchd", "windows-service"}
)
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox", "tcsh", "csh"})
_SUPERVISORS = frozenset(
    {
        "supervisord", "runsv", "runsvdir", "s6-supervise", "supervise", "monit", "circusd", "forever",
        "nodemon", "watchexec", "entr", "cargo-watch", "air", "reflex", "launchd", "systemd",
        "pm2", "god", "foreman", "honcho", "overmind", "hivemind", "procodile",
    }
)  # fmt: skip
# Programs that start a command and end with it: the chain goes on above them.
_LAUNCHERS = frozenset(
    {
        "npm", "npx", "yarn", "pnpm", "bun", "uv", "poetry", "pipenv", "make", "sudo", "su", "setpriv",
        "env", "nice", "ionice", "timeout", "nohup", "setsid", "script", "time", "tini", "dumb-init",
        "runuser", "doas", "stdbuf", "chrt", "taskset", "flock",
    }
)  # fmt: skip
# Where a chain ends without anything that restarts: a terminal, a login, an init.
_ROOTS = frozenset(
    {
        "sshd", "sshd-session", "tmux", "tmux: server", "screen", "SCREEN", "login", "init", "kthreadd",
        "gnome-terminal-server", "konsole", "xterm", "alacritty", "kitty", "wezterm-gui", "code", "agetty",
    }
)  # fmt: skip
_LOOP = ("while ", "until ", "for ", "while\t", "until\t", "for\t")


def respawn_risk(plan: Plan) -> str | None:
    """What could restart a holder of ``plan`` once it is stopped (None: nothing in its chain).

    A manager or a reloader named by the diagnosis; else, walking each target's parents: a
    supervisor or reloader by name, a shell running a loop (or a script file, whose loop cannot
    be seen), or a program of unknown kind that forked the holder into its own process group (a
    home-made supervisor, a forking master). An interactive shell, a terminal, pid 1, or a
    program that started the holder in a session or group of its own ends the walk.
    """
    if plan.command or plan.manager:
        return f"managed by {plan.manager or os.path.basename(plan.command[0])}"
    if plan.cause in _RESPAWNING_CAUSES:
        return f"a {plan.cause} process"
    pids = {t.pid for t in (*plan.targets, *plan.holders)}
    for t in plan.targets or plan.holders:
        group = _pgid(t.pid)
        for depth, ref in enumerate(t.parents):
            if ref.pid <= 1:
                break
            if ref.pid in pids:
                continue  # stopped with it
            verdict = _restarts(
                ref, direct=depth == 0, same_group=group is not None and _pgid(ref.pid) == group
            )
            if verdict == "stop":
                break
            if verdict:
                return f"{verdict}: pid {ref.pid} ({_short(ref)})"
    return None


def _restarts(ref: ProcessRef, *, direct: bool, same_group: bool) -> str | None:
    """Whether one link of a chain can restart what runs below it: a reason, "stop" (the walk
    ends: nothing above it restarts the holder), or None (look further up)."""
    argv = title_words(ref.cmdline)  # a process that renamed itself: npm's "npm run dev"
    base = os.path.basename(argv[0]) if argv else ref.name
    base = base.lstrip("-")
    name = ref.name
    if base in _SHELLS or name in _SHELLS:
        args = list(argv[1:])
        if "-c" in args[:3]:
            i = args.index("-c")
            script = args[i + 1] if i + 1 < len(args) else ""
            if any(word in script for word in _LOOP):
                return "a shell loop"
            return None  # 'sh -c "node server.js"' (npm run): ends with the command
        if any(not a.startswith("-") for a in args):
            return "a shell script (its loops cannot be seen)"
        return "stop"  # an interactive shell
    if name.startswith("PM2") or "God Daemon" in name or base.startswith("containerd-shim"):
        return "a supervisor"
    if base in _SUPERVISORS or name in _SUPERVISORS:
        return "a supervisor" if direct or base != "systemd" else "stop"
    if any(a in ("--reload", "--watch", "watch") for a in argv[1:3]) or "--reload" in argv:
        return "a reloader"
    if base in _LAUNCHERS or name in _LAUNCHERS:
        return None
    if base in _ROOTS or name in _ROOTS:
        return "stop"
    if same_group:
        return "a parent that forked it into its own process group"
    return "stop"


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (OSError, AttributeError):  # gone, or Windows
        return None


def _short(ref: ProcessRef) -> str:
    what = " ".join((os.path.basename(ref.cmdline[0]), *ref.cmdline[1:])) if ref.cmdline else ref.name
    return what if len(what) <= 44 else what[:43] + "…"


__all__ = [
    "ANSWER_TIMEOUT",
    "COMMAND_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "FOREIGN_STOP_TIMEOUT",
    "GRACE",
    "KILL",
    "NO_RESPAWNER",
    "REMNANT_SECONDS",
    "SETTLE",
    "TERM",
    "Plan",
    "Step",
    "Target",
    "plan",
    "respawn_risk",
    "stop_timeout",
]
