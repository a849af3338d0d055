"""The safe stop, executed: pin each target, signal, wait for the port, verify.

``free(port)`` is ``execute(plan(port))``; the plan (stopplan.py) decides what to stop and what
is refused. Every signal goes to a process pinned by the back-end (a pidfd and its start time on
Linux), so a recycled pid is never hit. Success means the *port* is free for a listener like
the user's (probe.availability), not that a process exited; a port re-bound by a new process is
a respawn, watched for only where something in the holder's chain can restart it.
"""

from __future__ import annotations

import time

from .errors import FreeRefused, parse_port_and_protocol, parse_seconds
from .quoting import join as shell_join
from .record import Record
from .stopplan import (
    ANSWER_TIMEOUT,
    COMMAND_TIMEOUT,
    DEFAULT_TIMEOUT,
    GRACE,
    KILL,
    NO_RESPAWNER,
    REMNANT_SECONDS,
    SETTLE,
    TERM,
    Plan,
    Step,
    Target,
    plan,
    respawn_risk,
    stop_timeout,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from .model import Diagnosis
    from .platforms.contract import Pinned
    from .probe import Availability

POLL = 0.05  # seconds between two looks at the kernel's socket table
SILENT = "silent"  # a state: the manager's client did not answer its check within ANSWER_TIMEOUT
STALLED = "stalled"  # a state: the manager's stop did not finish within stop_timeout() (it was ended)

class _Steps(list[Step]):
    """The steps of one run, in order; each one is handed to ``progress`` as it is added (done)."""

    def __init__(self, progress: Callable[[Step], None] | None) -> None:
        super().__init__()
        self._progress = progress

    def append(self, step: Step) -> None:
        super().append(step)
        if self._progress is not None:
            self._progress(step)


class FreeResult(Record):
    """What happened to one port: freed or not, every step, and who holds it now."""

    port: int
    protocol: str
    freed: bool
    steps: tuple[Step, ...] = ()
    cause: str | None = None
    respawned_by: dict[str, Any] | None = None
    holders_after: tuple[Target, ...] = ()
    refused: tuple[str, ...] = ()
    dry_run: bool = False
    summary: str = ""
    availability: Availability | None = None
    watched: float | None = None  # seconds the port was watched for a respawn; None: not watched
    respawn_risk: str | None = None  # what in the holder's chain could restart it (why we watched)

    @property
    def seconds(self) -> float:
        """Total time of the steps."""
        return sum(s.seconds for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see README: portdoctor free)."""
        return {
            "port": self.port,
            "protocol": self.protocol,
            "freed": self.freed,
            "cause": self.cause,
            "steps": [s.to_dict() for s in self.steps],
            "respawned_by": self.respawned_by,
            "holders_after": [t.to_dict() for t in self.holders_after],
            "refused": list(self.refused),
            "dry_run": self.dry_run,
            "summary": self.summary,
            "bind": self.availability.to_dict() if self.availability is not None else None,
            "respawn_watch": None
            if self.watched is None
            else {"seconds": round(self.watched, 3), "reason": self.respawn_risk},
        }


# --- pinning and signalling ------------------------------------------------------------------


class _Pin:
    """A target held still by the back-end (``platform.pin``): signals reach only that process."""

    def __init__(self, target: Target, held: Pinned) -> None:
        self.target = target
        self.held = held

    def close(self) -> None:
        self.held.close()


def pin(target: Target) -> tuple[_Pin | None, str | None]:
    """Hold ``target`` so a signal can only reach that process; (None, why) when it cannot be."""
    from .platforms import current as platform
    from .platforms.common import RECYCLED

    held, why = platform.pin(target.pid, target.started)
    if held is None:
        return None, _recycled(target) if why == RECYCLED else why
    return _Pin(target, held), None


def _recycled(t: Target) -> str:
    return f"not signalled: pid {t.pid} is now another process (its start time differs)"


def _send(p: _Pin, kill: bool) -> str:
    """Signal a pinned target; the outcome as a step result."""
    from .platforms.common import RECYCLED

    said = p.held.signal(kill)
    return _recycled(p.target) if said == RECYCLED else said


def _alive(p: _Pin) -> bool:
    return p.held.alive()


# --- executing -------------------------------------------------------------------------------


def _listeners(port: int, protocol: str) -> list[int]:
    """Inodes of the listening sockets on the port in our namespace (0 where unknown)."""
    from ._find import sockets

    return [s.inode for s in sockets(port, (protocol,), all_netns=False) if s.listening]


def _watched(plan: Plan) -> frozenset[int]:
    """The sockets whose release ``free`` waits for: the listeners and the targets' connections."""
    return plan.inodes | frozenset(i for t in plan.targets for i in t.inodes if i)


def _wait_port(plan: Plan, timeout: float, until: Callable[[], bool] | None = None) -> str:
    """Poll until the port is released ('released': no listener, and no connection of a target
    still held by a process), re-bound by a new socket ('rebound'), ``until`` says stop
    ('stopped'), or ``timeout`` passes ('held')."""
    from ._find import sockets

    watched = _watched(plan)
    deadline = time.monotonic() + timeout
    pause = POLL / 32  # most servers exit within milliseconds of SIGTERM: look again soon
    while True:
        now = sockets(plan.port, (plan.protocol,), all_netns=False)
        listening = [s.inode for s in now if s.listening]
        # An orphaned connection (FIN_WAIT2, TIME_WAIT) has inode 0: no process holds it any more.
        kept = [s for s in now if not s.listening and s.inode and s.inode in watched]
        if not listening and not kept:
            return "released"
        if plan.inodes and any(i and i not in plan.inodes for i in listening):
            return "rebound"
        if until is not None and until():
            return "stopped"
        if time.monotonic() >= deadline:
            return "held"
        time.sleep(pause)
        pause = min(pause * 2, POLL)


def execute(
    plan: Plan,
    *,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    ask: Callable[[str], bool] | None = None,
    settle: float = SETTLE,
    progress: Callable[[Step], None] | None = None,
) -> FreeResult:
    """Carry out ``plan``: stop, wait for the port, escalate if allowed, verify.

    Raises FreeRefused when the plan was refused. ``ask(question)`` is called before SIGKILL
    when ``force`` is False; without it (or on 'no') the port stays held and ``freed`` is False.
    ``settle`` is how long a released port is watched for a respawn, when something in the
    holder's chain can restart it (:func:`respawn_risk`); otherwise ``free`` returns at once.
    ``progress(step)`` is called in this thread with each step as it completes, in the order of
    ``FreeResult.steps``; what it raises propagates (the run stops there).
    """
    if plan.refused:
        raise FreeRefused(_refused_result(plan))
    steps: list[Step] = _Steps(progress)
    if not plan.in_use:
        return _verify(plan, "released", steps, 0.0, None)
    risk = respawn_risk(plan)  # before the signals: the chain is readable only while it lives
    state = "held"
    pins: list[_Pin] = []
    try:
        if plan.command:
            state = _run_manager(plan, timeout, steps)
            if state in (SILENT, STALLED) and not plan.fallback_refused:
                # The plan's own targets, signalled as without a manager (see Plan.fallback_refused).
                plan = plan.replace(command=(), confirm=(), confirm_pids=(), targets=plan.holders)
                state = _signal(plan, force, timeout, ask, steps, pins)
        else:
            state = _signal(plan, force, timeout, ask, steps, pins)
    finally:
        for p in pins:
            p.close()
    if state in (SILENT, STALLED):
        return _unanswered(plan, steps, stalled=state == STALLED, timeout=timeout)
    return _verify(plan, state, steps, settle, risk)


def _signal(
    plan: Plan,
    force: bool,
    timeout: float,
    ask: Callable[[str], bool] | None,
    steps: list[Step],
    pins: list[_Pin],
) -> str:
    """SIGTERM the targets and wait; SIGKILL those still alive with ``force`` or a yes to ``ask``."""
    where = f"port {plan.port}/{plan.protocol}"
    state = _signal_group(plan, timeout, steps, pins)
    if state == "held":
        alive = [p for p in pins if _alive(p)]
        question = (
            f"{plan.port}/{plan.protocol} is still held after {timeout:g}s by "
            + ", ".join(p.target.label for p in alive)
            + f". Send {KILL} (no clean-up)?"
        )
        if alive and (force or (ask is not None and ask(question))):
            for p in alive:
                t0 = time.monotonic()
                said = _send(p, True)
                steps.append(Step(KILL, p.target.full_label, said, time.monotonic() - t0, p.target.pid))
            t0 = time.monotonic()
            state = _wait_port(plan, timeout)
            steps.append(Step("wait", where, _said(state), time.monotonic() - t0))
    return state


def _own(plan: Plan, command: str, *flags: str) -> str:
    """``portdoctor COMMAND PORT [--udp] FLAGS`` for this plan's port, as it works when copied."""
    from .invocation import own_command

    udp = ["--udp"] if plan.protocol == "udp" else []
    return own_command(command, str(plan.port), *udp, *flags)


def _forced(plan: Plan) -> str:
    """``portdoctor free PORT --force`` for this plan, as it works when copied."""
    return _own(plan, "free", "--force")


def _unanswered(plan: Plan, steps: list[Step], *, stalled: bool = False, timeout: float = 0.0) -> FreeResult:
    """The manager did not answer its check (or, ``stalled``, did not finish its stop) and its
    holders may not be signalled instead: nothing more was done; say why, and what to do."""
    manager = plan.manager or "the manager"
    reasons = "; ".join(plan.fallback_refused)
    if plan.fallback_refused == ("signalling the holder instead needs --force",):
        then = f"To send {TERM} to the holder instead, run: {_forced(plan)}"
    else:
        then = f"Once it answers, run: {shell_join(plan.command)}"
    if stalled:
        what = (
            f"{manager} did not finish `{shell_join(plan.command)}` within {stop_timeout(plan, timeout):g}s "
            "(it was ended), and nothing more was done"
        )
    else:
        what = (
            f"{manager} did not answer `{shell_join(plan.confirm)}` within {ANSWER_TIMEOUT:g}s, "
            "and nothing was stopped"
        )
    summary = f"{plan.port}/{plan.protocol} is still held: {what} ({reasons}). {then}"
    return FreeResult(
        plan.port, plan.protocol, False, tuple(steps), plan.cause, holders_after=plan.holders, summary=summary
    )


def _run_manager(plan: Plan, timeout: float, steps: list[Step]) -> str:
    """Confirm the manager's target (when the plan says how), run its stop, wait for the port."""
    from .command import run_command

    where = f"port {plan.port}/{plan.protocol}"
    limit = stop_timeout(plan, timeout)
    if plan.confirm:
        t0 = time.monotonic()
        check = run_command(plan.confirm, timeout=ANSWER_TIMEOUT, env=plan.env, user=plan.run_as)
        # One pid a line (`pm2 pid NAME` prints one per instance); the first that is a holder's.
        said = check.stdout.split()
        named = next((int(w) for w in said if w.isdigit() and int(w) in plan.confirm_pids), None)
        if check.timed_out:
            instead = f"{TERM} to the holder instead" if not plan.fallback_refused else "nothing was stopped"
            result = f"no answer within {ANSWER_TIMEOUT:g}s: {instead}"
        elif not check.ok:
            result = f"failed: {check.reason()}"
        elif named is not None:
            result = f"pid {named}: the holder"
        else:
            pids = " ".join(said)[:20] or "?"
            result = f"refused: it names pid {pids}, not the holder; nothing was stopped"
        steps.append(Step("check", shell_join(plan.confirm), result, time.monotonic() - t0))
        if check.timed_out:
            return SILENT
        if named is None:
            return "held"
    t0 = time.monotonic()
    done = run_command(plan.command, timeout=limit, env=plan.env, user=plan.run_as)
    # A stop that does not finish is ended with everything it started (run_command); where the
    # plan has a fallback (a checked manager, another user's manager) it counts as no answer.
    stalled = done.timed_out and (bool(plan.confirm) or plan.run_as is not None)
    if stalled:
        instead = f"{TERM} to the holder instead" if not plan.fallback_refused else "nothing more was done"
        result = f"no answer within {limit:g}s: {instead}"
    else:
        result = "done" if done.ok else f"failed ({done.reason()})"
    who = f" (as {plan.run_as.name})" if plan.run_as else ""
    steps.append(Step("run", shell_join(plan.command) + who, result, time.monotonic() - t0))
    if stalled:
        return STALLED
    t0 = time.monotonic()
    state = _wait_port(plan, timeout if done.ok else 0.0)
    steps.append(Step("wait", where, _said(state), time.monotonic() - t0))
    return state


def _signal_group(plan: Plan, timeout: float, steps: list[Step], pins: list[_Pin]) -> str:
    """SIGTERM the masters, give their workers GRACE to follow, SIGTERM the rest, wait for the port."""
    where = f"port {plan.port}/{plan.protocol}"
    pinned: dict[int, _Pin] = {}
    for t in plan.targets:
        t0 = time.monotonic()
        p, why = pin(t)
        if p is None:
            steps.append(Step(TERM, t.full_label, why or "already gone", time.monotonic() - t0, t.pid))
        else:
            pins.append(p)
            pinned[t.pid] = p
    start = time.monotonic()
    # A forked child that holds only accepted connections (no listener) does not exit with its
    # master: it is signalled at once, not after GRACE.
    leaders = [p for p in pins if not p.target.follower or _connections_only(p.target, plan)]
    followers = [p for p in pins if p not in leaders]
    for p in leaders:
        t0 = time.monotonic()
        steps.append(Step(TERM, p.target.full_label, _send(p, False), time.monotonic() - t0, p.target.pid))
    state = "held"
    if followers:
        if leaders:
            t0 = time.monotonic()
            state = _wait_port(plan, min(GRACE, timeout), until=lambda: not any(_alive(f) for f in followers))
        for p in followers:
            t0 = time.monotonic()
            if _alive(p):
                said = _send(p, False)
                steps.append(Step(TERM, p.target.full_label, said, time.monotonic() - t0, p.target.pid))
            else:
                steps.append(Step(TERM, p.target.full_label, "exited with its master", 0.0, p.target.pid))
    if state != "released" and state != "rebound":
        state = _wait_port(plan, max(0.0, timeout - (time.monotonic() - start)))
    steps.append(Step("wait", where, _said(state), time.monotonic() - start))
    return state


def _connections_only(t: Target, plan: Plan) -> bool:
    return bool(t.inodes) and not set(t.inodes) & plan.inodes


def _said(state: str) -> str:
    return {"released": "released", "rebound": "re-bound by a new socket", "stopped": "held"}.get(
        state, "still held"
    )


def _verify(plan: Plan, state: str, steps: list[Step], settle: float, risk: str | None) -> FreeResult:
    """Watch a released port for a respawn (only when ``risk`` names something that can restart
    the holder), then decide with the one definition of free (probe.availability): free, held by
    a listener (a respawn, or a holder that ignored the signal), or kept by connections."""
    from .diagnose import why
    from .probe import availability

    where = f"port {plan.port}/{plan.protocol}"
    t0 = time.monotonic()
    watched: float | None = None
    if state == "released":
        if risk and settle > 0:
            deadline = time.monotonic() + settle
            while time.monotonic() < deadline and not _listeners(plan.port, plan.protocol):
                time.sleep(POLL)
            watched = time.monotonic() - t0
        if not _listeners(plan.port, plan.protocol):
            a = availability(plan.port, plan.protocol)
            if a.free:
                return _freed(plan, steps, t0, watched, risk, a)
    d = why(plan.port, plan.protocol)
    if not d.in_use:  # no listener: free, or kept by connections and remnants
        if d.free:
            return _freed(plan, steps, t0, watched, risk, d.availability)
        return _kept(plan, d, steps, t0, watched, risk)
    listen = {p for s in d.sockets if s.listening and not s.foreign_netns for p in s.holders}
    after = tuple(Target.of(h) for h in d.holders if h.pid in listen)
    before = {(t.pid, t.started) for t in (*plan.holders, *plan.targets)}
    new = [t for t in after if (t.pid, t.started) not in before]
    respawned: dict[str, Any] | None = None
    # A restart runs as the user of what was stopped; a listener of another user that took the
    # released port is not one, and nothing of its chain (a parent it named "supervisord", a pid
    # to `kill`) is a step for the user who ran free: another local user can bind any port.
    stopped = {t.uid for t in (*plan.holders, *plan.targets)}
    taken = [t for t in new if t.uid not in stopped]
    if taken:
        who = ", ".join(f"{t.label} of {_owner(t)}" for t in taken)
        pids = ", ".join(f"pid {t.pid} ({_owner(t)})" for t in taken)
        steps.append(Step("verify", where, f"taken by {pids}, not a restart", time.monotonic() - t0))
        summary = (
            f"{plan.port}/{plan.protocol} was released, then taken by {who}: another user's process, "
            f"not a restart of what was stopped. See: {_own(plan, 'why')}"
        )
    elif new:
        respawned = _respawner(d, new[0])
        who = ", ".join(t.label for t in new)
        by = respawned["name"] if respawned else "?"
        pids = ", ".join(f"pid {t.pid}" for t in new)
        seen = f" after {watched:.2f}s" if watched is not None else ""
        steps.append(
            Step("verify", where, f"re-bound by {pids}{seen}, restarted by {by}", time.monotonic() - t0)
        )
        cmd = respawned.get("command") if respawned else None
        summary = f"{plan.port}/{plan.protocol} was re-bound by {who}: restarted by {by}." + (
            f" Stop that first: {cmd}" if cmd else ""
        )
    else:
        who = ", ".join(t.label for t in after) or "a process we cannot see"
        pids = ", ".join(f"pid {t.pid}" for t in after) or "an unseen process"
        steps.append(Step("verify", where, f"still held by {pids}", time.monotonic() - t0))
        summary = f"{plan.port}/{plan.protocol} is still held by {who}."
        if not plan.command:
            summary += f" It ignored {TERM}; to send {KILL}, run: {_forced(plan)}"
    return FreeResult(
        plan.port, plan.protocol, False, tuple(steps), plan.cause,
        respawned_by=respawned, holders_after=after, summary=summary,
        availability=d.availability, watched=watched, respawn_risk=risk,
    )  # fmt: skip


def _owner(t: Target) -> str:
    """'user NAME' or 'uid N' of a target, for sentences (not escaped)."""
    if t.user:
        return f"user {t.user}"
    return f"uid {t.uid}" if t.uid is not None else "an unknown user"


def _freed(
    plan: Plan, steps: list[Step], t0: float, watched: float | None, risk: str | None, a: Availability | None
) -> FreeResult:
    where = f"port {plan.port}/{plan.protocol}"
    if not plan.in_use:
        result = "already free"
        summary = f"{plan.port}/{plan.protocol} is already free."
    else:
        result = "free"
        summary = f"{plan.port}/{plan.protocol} is free. " + watch_text(watched, risk)
    steps.append(Step("verify", where, result, time.monotonic() - t0))
    return FreeResult(
        plan.port, plan.protocol, True, tuple(steps), plan.cause, summary=summary,
        availability=a, watched=watched, respawn_risk=risk,
    )  # fmt: skip


def watch_text(watched: float | None, risk: str | None) -> str:
    """How the respawn watch went, for people: 'No respawn in 1.00s of watching (...)'."""
    if watched is None:
        return f"No respawn watch: {NO_RESPAWNER}."
    return f"No respawn in {watched:.2f}s of watching ({risk})."


def _kept(
    plan: Plan, d: Diagnosis, steps: list[Step], t0: float, watched: float | None, risk: str | None
) -> FreeResult:
    """No listener, yet a bind fails: connections held by processes that are not targets, or
    sockets no process holds any more (FIN_WAIT2, TIME_WAIT...). Say which binds work now, and
    when the rest will."""
    where = f"port {plan.port}/{plan.protocol}"
    ours = [s for s in d.sockets if not s.foreign_netns and s.port == plan.port and not s.listening]
    held = [s for s in ours if s.inode]
    orphans = [s for s in ours if not s.inode]
    parts: list[str] = []
    after: list[Target] = []
    if held:
        pids = sorted({p for s in held for p in s.holders})
        after = [Target.of(h) for h in d.holders if h.pid in pids]
        signalled = {t.pid for t in plan.targets}
        stubborn = [t for t in after if t.pid in signalled]
        others = [t for t in after if t.pid not in signalled]
        if stubborn:
            parts.append(
                ", ".join(t.label for t in stubborn)
                + f" ignored {TERM} and still holds connections on it (to send {KILL}: {_forced(plan)})"
            )
        if others or not stubborn:
            who = ", ".join(t.label for t in others) or "a process we cannot see"
            parts.append(
                f"{who} holds connection(s) on it (not a target: an outgoing connection, "
                "or one we could not tie to the server)"
            )
    if orphans:
        counts: dict[str, int] = {}
        for s in orphans:
            counts[s.state] = counts.get(s.state, 0) + 1
        what = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        # Only these states' timers end the socket; FIN_WAIT1's is a retransmission timer.
        timed = [s for s in orphans if s.state in ("TIME_WAIT", "FIN_WAIT2")]
        expires = [s.expires for s in timed if s.expires is not None]
        if expires and len(timed) == len(orphans):
            when = f"about {max(expires):.0f}s"
        else:
            when = f"about {REMNANT_SECONDS}s or less once the peer answers"
        parts.append(f"{what} socket(s) that no process holds remain; the kernel drops them in {when}")
    a = d.availability
    if a is not None and a.reusable:
        works = "A bind with SO_REUSEADDR works now; one without fails until they are gone."
    else:
        works = "No bind works until they are gone, not even one with SO_REUSEADDR."
    steps.append(
        Step("verify", where, "not free for a plain bind: " + "; ".join(parts), time.monotonic() - t0)
    )
    summary = (
        f"{plan.port}/{plan.protocol}: nothing listens"
        + (" any more" if plan.in_use else "")
        + ", but "
        + "; ".join(parts or ["something we cannot see keeps it"])
        + f". {works}"
    )
    return FreeResult(
        plan.port, plan.protocol, False, tuple(steps), plan.cause, holders_after=tuple(after),
        summary=summary, availability=a, watched=watched, respawn_risk=risk,
    )  # fmt: skip


def _respawner(d: Diagnosis, new: Target) -> dict[str, Any]:
    """Who restarted the new holder (its manager, else its parent) and the command that stops it."""
    cause = d.cause
    details = cause.details if cause else {}
    manager = details.get("manager")
    h = d.holder(new.pid)
    parent = h.parents[0] if h is not None and h.parents else None
    command = None
    for a in cause.actions if cause else ():
        if a.command and a.kind not in ("free", "pick", "advice", "signal"):
            command = a.command
            break
    if command is None and parent is not None and parent.pid > 1:
        command = f"kill {parent.pid}"
    name = str(manager) if manager else (f"{parent.name} (pid {parent.pid})" if parent else "?")
    return {
        "pid": parent.pid if parent else None,
        "name": name,
        "manager": manager,
        "cause": cause.kind if cause else None,
        "command": command,
    }


def _refused_result(plan: Plan) -> FreeResult:
    return FreeResult(
        plan.port, plan.protocol, False, (), plan.cause, holders_after=plan.holders, refused=plan.refused,
        summary=f"refused to free {plan.port}/{plan.protocol}: " + "; ".join(plan.refused),
    )  # fmt: skip


def free(
    port: int | str,
    protocol: str | None = None,
    *,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    dry_run: bool = False,
    ask: Callable[[str], bool] | None = None,
    signal_managers: bool = True,
    settle: float = SETTLE,
    progress: Callable[[Step], None] | None = None,
) -> FreeResult:
    """Free ``port`` safely: stop its owner the right way, wait for the port, verify.

    Raises FreeRefused (exit 3) for pid 1, kernel threads, portdoctor and its ancestors, and,
    without ``force``, other users' processes, protected services and shared daemons.
    ``progress(step)`` is called with each :class:`Step` as it completes (not for a dry run or
    a refusal, which complete nothing): the same steps, in the same order, as the result's.
    ``port`` may be pasted text (``5353/udp``): ``protocol`` None is its protocol, else TCP.
    """
    timeout = parse_seconds(timeout)
    number, protocol, _host = parse_port_and_protocol(port, protocol)
    p = plan(number, protocol, force=force, signal_managers=signal_managers)
    if dry_run:
        if p.refused:
            raise FreeRefused(_refused_result(p))
        return FreeResult(
            p.port, p.protocol, not p.in_use, tuple(p.steps(force=force, timeout=timeout)), p.cause,
            holders_after=p.holders, dry_run=True,
            summary=f"{p.port}/{p.protocol}: " + (p.summary or "nothing holds it"),
        )  # fmt: skip
    return execute(p, force=force, timeout=timeout, ask=ask, settle=settle, progress=progress)


__all__ = [
    "ANSWER_TIMEOUT",
    "COMMAND_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "GRACE",
    "KILL",
    "SETTLE",
    "TERM",
    "FreeRefused",
    "FreeResult",
    "Plan",
    "Step",
    "Target",
    "execute",
    "free",
    "pin",
    "plan",
]
