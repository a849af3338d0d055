"""pm2: a PM2 app holds the port (fork mode), or PM2's God Daemon does for a cluster app."""

from __future__ import annotations

import os

from ..model import Action, Cause, Stop
from ..quoting import quote as shell_quote
from .actions import pick_action
from .gates import pm2_evidence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..managers.pm2 import App
    from ..model import Holder
    from . import Context


def _daemon_of(ctx: Context, h: Holder) -> tuple[int, str, int | None] | None:
    """(daemon pid, its title, the app process under it or None when the daemon itself holds)."""
    from ..managers import pm2

    if pm2.is_daemon(h.name, h.cmdline):
        return h.pid, (h.cmdline[0] if h.cmdline else h.name), None
    below = h.pid
    for parent in h.parents:
        if pm2.is_daemon(parent.name, parent.cmdline):
            return parent.pid, (parent.cmdline[0] if parent.cmdline else parent.name), below
        below = parent.pid
    # A process PM2 started but that left the daemon's tree (daemonised itself): its environment
    # names the home, whose pm2.pid names the daemon. Both are the holder's word: the stop is
    # cross-checked against the daemon's own list of its apps.
    env = ctx.environ(h.pid) or {}
    home = env.get("PM2_HOME")
    if home and "pm_id" in env and os.path.isabs(home):
        from ..platforms import current as platform

        pid = pm2.recorded_pid(home)
        facts = platform.process(pid) if pid else None
        if pid and facts and pm2.is_daemon(facts.name, facts.cmdline):
            return pid, (facts.cmdline[0] if facts.cmdline else facts.name), h.pid
    return None


def _apps(ctx: Context, daemon_pid: int, daemon_uid: int | None, home: str) -> tuple[list[App], bool]:
    """The daemon's apps, and whether they come from the daemon itself (not its apps' word)."""
    from ..managers import pm2

    ask = pm2.why_not_ask(home, daemon_pid, daemon_uid)
    if ask is None:
        try:
            return pm2.daemon_apps(home), True
        except (OSError, ValueError) as exc:
            ctx.note(f"PM2's daemon (pid {daemon_pid}, PM2_HOME={home}) did not answer: {exc}")
    apps = pm2.apps_from_processes(daemon_pid)
    if apps is None:
        ctx.note(f"PM2's app list for {home} could not be read ({ask or 'no answer'}).")
        return [], False
    return apps, False


def match(apps: list[App], port: int, app_pids: set[int], daemon_holds: bool) -> tuple[list[App], bool]:
    """The apps behind the port, and whether the match is ambiguous.

    Fork mode: the app whose process holds the socket. Cluster mode (the daemon holds the
    listening socket, the workers do not): the cluster app whose env PORT or args name the port,
    else the only cluster app.
    """
    found = [a for a in apps if set(a.pids) & app_pids]
    if daemon_holds:
        cluster = [a for a in apps if a.mode == "cluster" and a not in found]
        naming = [a for a in cluster if a.names_port(port)]
        if len(naming) == 1 or (not naming and len(cluster) == 1):
            found += naming or cluster
        elif cluster:
            return found + (naming or cluster), True
    return found, False


def detect(ctx: Context) -> Cause | None:
    """A holder is PM2's God Daemon or runs under it."""
    if not pm2_evidence(ctx):
        return None  # no evidence: don't pay for the PM2 client
    from ..managers import pm2

    daemons: dict[int, str] = {}
    app_pids: set[int] = set()
    daemon_holds = False
    for h in ctx.holders:
        found = _daemon_of(ctx, h)
        if found is None:
            continue
        pid, title, below = found
        daemons.setdefault(pid, title)
        if below is None:
            daemon_holds = True
        else:
            app_pids.add(below)
    if not daemons:
        return None
    daemon_pid, title = next(iter(daemons.items()))
    denv = ctx.environ(daemon_pid) or {}
    home = pm2.daemon_home(title) or denv.get("PM2_HOME") or pm2.default_home(denv.get("HOME"))

    from ..platforms import current as platform

    dfacts = platform.process(daemon_pid)
    daemon_uid = dfacts.uid if dfacts else None
    everything, from_daemon = _apps(ctx, daemon_pid, daemon_uid, home)
    apps, ambiguous = match(everything, ctx.port, app_pids, daemon_holds)
    others = [a.name for a in everything if a not in apps]

    theirs = daemon_uid is not None and daemon_uid != ctx.my_uid
    prefix = f"sudo -u {shell_quote(dfacts.user or f'#{daemon_uid}')} " if theirs and dfacts else ""
    if theirs or os.path.realpath(home) != os.path.realpath(pm2.default_home()):
        prefix += f"PM2_HOME={shell_quote(home)} "
    evidence = []
    if daemon_holds:
        evidence.append(
            f"the PM2 God Daemon (pid {daemon_pid}) holds the listening socket: "
            "cluster mode, its workers share it"
        )
    evidence += [f"pid {p} was started by the PM2 God Daemon (pid {daemon_pid})" for p in sorted(app_pids)]
    evidence.append(f"PM2_HOME is {home}")
    for a in apps:
        port_why = f", env PORT={a.port_env}" if a.port_env else ""
        evidence.append(
            f"PM2 app '{a.name}' (id {a.pm_id}, {a.mode} mode, {a.instances} instance(s), pids "
            f"{', '.join(map(str, a.pids)) or '-'}{port_why})"
        )

    respawns = any(a.autorestart for a in apps if set(a.pids) & app_pids)
    if apps and not ambiguous:
        a = apps[0]
        more = f" and {', '.join(repr(x.name) for x in apps[1:])}" if len(apps) > 1 else ""
        inst = f", {a.instances} instances" if a.instances > 1 else ""
        summary = f"Port {ctx.port} is held by PM2 app '{a.name}'{more} (id {a.pm_id}, {a.mode} mode{inst})"
    elif apps:
        names = ", ".join(repr(a.name) for a in apps)
        summary = (
            f"Port {ctx.port} is held by PM2's God Daemon (pid {daemon_pid}) "
            f"for one of the cluster apps {names}"
        )
        evidence.append("several cluster apps could hold it and none names the port in its env PORT or args")
    else:
        summary = f"Port {ctx.port} is held by a PM2 app (God Daemon pid {daemon_pid}, PM2_HOME {home})"
    if daemon_holds:
        summary += "; killing the holder would kill the God Daemon and every PM2 app."
    elif respawns:
        summary += "; PM2 would restart it if killed."
    else:
        summary += "; stop it through PM2."

    targets = tuple(p for a in apps for p in a.pids) + ((daemon_pid,) if daemon_holds else ())
    actions: list[Action] = []
    stop_names = [a.name for a in apps] if apps else []
    if stop_names:
        quoted = " ".join(shell_quote(n) for n in stop_names)
        which = "one of these apps; pick the right one" if ambiguous else "it"
        actions.append(
            Action(
                description=f"Stop {which} through PM2 (it stays stopped; the other apps keep running)",
                command=f"{prefix}pm2 stop {quoted}",
                safe=True,
                kind="pm2-stop",
                targets=targets,
            )
        )
        actions.append(
            Action(
                description="Or stop it for good and remove it from PM2's list",
                command=f"{prefix}pm2 delete {quoted}",
                safe=True,
                kind="pm2-stop",
                targets=targets,
            )
        )
    else:
        actions.append(
            Action(
                description="List PM2's apps to find it", command=f"{prefix}pm2 ls", safe=True, kind="advice"
            )
        )
    others_text = f" (also {', '.join(repr(n) for n in others)})" if others else ""
    actions.append(
        Action(
            description=(
                f"Do not kill the PM2 God Daemon (pid {daemon_pid}): that stops every PM2 app{others_text}"
            ),
            command=None,
            safe=False,
            kind="advice",
            targets=(daemon_pid,),
        )
    )
    actions.append(pick_action(ctx.port))

    details: dict[str, object] = {
        "manager": "pm2",
        "respawns": respawns,
        "shared": daemon_holds,
        "pm2_home": home,
        "apps": [a.to_dict() for a in apps],
        "daemon_pid": daemon_pid,
        "ambiguous": ambiguous,
    }
    stop = None
    if stop_names and not ambiguous:
        why_not = _why_not_stop(ctx, home, daemon_uid, from_daemon)
        if why_not is None:
            env: tuple[tuple[str, str], ...] = (("PM2_HOME", home),) if "PM2_HOME=" in prefix else ()
            # `pm2 pid NAME` prints nothing when either is set to anything (even "false"), and its
            # answer is read: emptied, they are unset to PM2.
            env += tuple((k, "") for k in ("PM2_SILENT", "PM2_PROGRAMMATIC") if os.environ.get(k))
            # The daemon names the app's pids right before the stop: that it is the holder's app,
            # and that the daemon answers at all (free gives up on it after ANSWER_TIMEOUT).
            confirm = ("pm2", "pid", stop_names[0])
            stop = Stop("pm2", ("pm2", "stop", *stop_names), env, daemon_uid, targets, confirm=confirm)
        else:
            ctx.note(f"portdoctor will not stop it through PM2 itself: {why_not}.")
    return Cause(
        kind="pm2", summary=summary, evidence=tuple(evidence), actions=tuple(actions), details=details,
        stop=stop,
    )  # fmt: skip


def _why_not_stop(ctx: Context, home: str, daemon_uid: int | None, from_daemon: bool) -> str | None:
    """Why ``free`` must not run `pm2 stop` for these apps (None: it may).

    The app names come from the daemon itself, or from apps of the daemon's own user (who can
    only name their own apps to their own daemon); the home must be the daemon user's directory.
    """
    from ..untrusted import is_dir_of

    if daemon_uid is None:
        return "the PM2 daemon's user is unknown"
    if not is_dir_of(home, daemon_uid):
        return f"PM2_HOME {home} is not a directory of the daemon's user"
    if not from_daemon and any(h.uid != daemon_uid for h in ctx.holders):
        return "the app was named by its own environment, not by its daemon, and runs as another user"
    return None
