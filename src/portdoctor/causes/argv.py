"""Reading command lines: which program an argv really runs (through node, python -m, deno...),
and what it is: a reloader (:func:`reloader_name`), a part of an IDE (:func:`ide_of`), a known
service (:func:`service_name`).

Shared by the detectors that recognise a process by the program it runs, not by its
interpreter's name, and by their gates (gates.py), which ask the same questions before the
detector is imported.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

# Interpreters whose first non-option argument is the program that really runs: these names, and
# these stems followed by a version (python3.11, php8.2, ruby3).
INTERPRETERS = frozenset(("node", "nodejs", "bun", "deno", "perl"))
VERSIONED_INTERPRETERS = ("python", "pypy", "ruby", "php")
_VERSION_CHARS = frozenset("0123456789.")
# Binaries that are reloaders by name: they restart their child when files change.
WATCHER_BINARIES = {
    "nodemon": "nodemon",
    "ts-node-dev": "ts-node-dev",
    "tsnd": "ts-node-dev",
    "node-dev": "node-dev",
    "watchexec": "watchexec",
    "air": "air",
    "cargo-watch": "cargo-watch",
    "reflex": "reflex",
    "modd": "modd",
    "entr": "entr",
    "compiledaemon": "CompileDaemon",
    "gow": "gow",
    "watchmedo": "watchmedo",
    "watchfiles": "watchfiles",
    "hupper": "hupper",
    "gin": "gin",
}


def versioned(name: str, stem: str) -> bool:
    """True for ``stem`` followed by digits and dots only: ``python3.11`` for ``python``."""
    return name.startswith(stem) and _VERSION_CHARS.issuperset(name[len(stem) :])


def is_interpreter(name: str) -> bool:
    """True for the name of an interpreter whose first non-option argument is the real program."""
    return name in INTERPRETERS or any(versioned(name, stem) for stem in VERSIONED_INTERPRETERS)


def basename(arg: str) -> str:
    """The last path component of ``arg`` (``/usr/bin/node`` -> ``node``; Windows paths too)."""
    return arg.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def title_words(argv: Sequence[str]) -> list[str]:
    """The words of a command line. A process that rewrote its title ("npm run dev", one string
    with spaces in /proc/PID/cmdline) is split into them; a title of blanks (any user may set
    one) has none."""
    if len(argv) == 1 and " " in argv[0]:
        return argv[0].split()
    return list(argv)


def program(argv: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """Split a command line into (program name, interpreter options, the program's arguments).

    ``node --watch /usr/bin/nodemon app.js`` -> ("nodemon", ["--watch"], ["app.js"]);
    ``python3 -m uvicorn app:app --reload`` -> ("uvicorn", [], ["app:app", "--reload"]).
    """
    args = title_words(argv)
    if not args:
        return "", [], []
    first = basename(args[0]).lower()
    if first.endswith(".exe"):
        first = first[:-4]
    if not is_interpreter(first):
        return first, [], args[1:]
    options: list[str] = []
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-m", "-c") and first.startswith(("python", "pypy")):
            if a == "-c":
                return first, options, args[i:]
            return (basename(args[i + 1]).lower() if i + 1 < len(args) else first), options, args[i + 2 :]
        if a in ("run", "x", "exec", "task") and first in ("deno", "bun") and not options:
            options.append(a)
            i += 1
            continue
        if not a.startswith("-") or a == "-":
            name = basename(a).lower()
            # node .../nodemon/bin/nodemon.js, node .../ts-node-dev/lib/bin.js, python .../bin/uvicorn
            for part in reversed(a.replace("\\", "/").split("/")[:-1]):
                if part.lower() in WATCHER_BINARIES and name in ("bin.js", "index.js", "cli.js", "main.js"):
                    name = part.lower()
                    break
            for suffix in (".js", ".cjs", ".mjs", ".py"):
                if name.endswith(suffix) and name[: -len(suffix)] in WATCHER_BINARIES:
                    name = name[: -len(suffix)]
            return name, options, args[i + 1 :]
        options.append(a)
        # node -r x / --require x / --import x take a value
        if a in ("-r", "--require", "--import", "--loader", "--env-file", "-W", "-X") and i + 1 < len(args):
            options.append(args[i + 1])
            i += 1
        i += 1
    return first, options, []


# --- what a command line is: a reloader, an IDE, a known service ------------------------------
# Pure recognisers (the command line alone), here rather than in their detectors so that the
# gates (gates.py) can ask them without importing the detector.


def reloader_name(argv: Sequence[str], name: str = "") -> str | None:
    """The reloader this command line is (``"nodemon"``, ``"uvicorn --reload"``...), or None.

    Pure: decides from the command line alone. The Werkzeug and Django reloaders are only
    recognisable together with their child (see ``reloader._python_reloader``)."""
    prog, options, rest = program(argv or (name,))
    if not prog:
        return None
    if prog in WATCHER_BINARIES:
        return WATCHER_BINARIES[prog]
    if prog == "cargo" and rest[:1] == ["watch"]:
        return "cargo-watch"
    if prog == "dotnet" and "watch" in rest[:2]:
        return "dotnet watch"
    if prog == "tsx" and rest[:1] == ["watch"]:
        return "tsx watch"
    first = basename(argv[0]).lower() if argv else ""
    if first in ("node", "nodejs") and any(o == "--watch" or o.startswith("--watch-path") for o in options):
        return "node --watch"
    if prog in ("uvicorn", "hypercorn") and any(a == "--reload" or a.startswith("--reload-") for a in rest):
        return f"{prog} --reload"
    if prog == "flask" and "run" in rest and any(a in ("--reload", "--debug") for a in rest):
        return "flask reloader"
    return None


VSCODE = "VS Code"
_JETBRAINS = {
    "idea": "IntelliJ IDEA",
    "pycharm": "PyCharm",
    "webstorm": "WebStorm",
    "goland": "GoLand",
    "clion": "CLion",
    "rider": "Rider",
    "phpstorm": "PhpStorm",
    "rubymine": "RubyMine",
    "rustrover": "RustRover",
    "datagrip": "DataGrip",
    "dataspell": "DataSpell",
    "studio": "Android Studio",
    "aqua": "Aqua",
    "fleet": "Fleet",
}
_VSCODE_FAMILY = {
    "code": VSCODE,
    "code-insiders": VSCODE,
    "code - oss": VSCODE,
    "code-oss": VSCODE,
    "codium": "VSCodium",
    "vscodium": "VSCodium",
    "cursor": "Cursor",
    "windsurf": "Windsurf",
    "code helper": VSCODE,
    "code helper (plugin)": VSCODE,
    "code helper (renderer)": VSCODE,
    "cursor helper": "Cursor",
    "cursor helper (plugin)": "Cursor",
}
_SERVER_DIRS = (
    (".vscode-server-insiders", VSCODE),
    (".vscode-server", VSCODE),
    (".vscode-remote", VSCODE),
    (".vscodium-server", "VSCodium"),
    (".cursor-server", "Cursor"),
    (".windsurf-server", "Windsurf"),
    ("/vscode/extensions/", VSCODE),
    ("/.vscode/extensions/", VSCODE),
)
# what a JetBrains IDE's java command line has (com.intellij.idea.Main, -Didea.paths.selector=...)
_JETBRAINS_MARKS = ("com.intellij.", "-Didea.paths.selector", "-Didea.platform.prefix")


def ide_of(argv: Sequence[str], name: str = "") -> tuple[str, str] | None:
    """(IDE, role) when this process belongs to an IDE, else None. Pure: the command line only.

    role is "ide" (the IDE itself), "extension-host", "debugger" (debugpy/pydevd/js-debug),
    or "server" (a remote-development server)."""
    text = " ".join(argv)
    low_name = name.lower()
    first = basename(argv[0]).lower() if argv else low_name
    if first.endswith(".exe"):
        first = first[:-4]
    prog = program(argv)[0] if argv else low_name
    # debuggers first: they sit between the IDE and the program
    if (
        prog == "debugpy"
        or "/debugpy/launcher" in text
        or "/debugpy/adapter" in text
        or "debugpy --listen" in text
    ):
        owner = next((ide for d, ide in _SERVER_DIRS if d in text), None)
        return owner or "debugpy", "debugger"
    if prog in ("pydevd", "pydevd.py") or "/pydev/pydevd.py" in text:
        return "PyCharm", "debugger"
    if "ms-vscode.js-debug" in text or "js-debug/src/" in text:
        return VSCODE, "debugger"
    for d, ide in _SERVER_DIRS:
        if d in text:
            return (
                ide,
                "extension-host" if "--type=extensionHost" in text or "extensionHost" in text else "server",
            )
    if "--type=extensionHost" in text or "--type=extensionhost" in text.lower():
        family = _VSCODE_FAMILY.get(first) or _VSCODE_FAMILY.get(low_name) or VSCODE
        return family, "extension-host"
    if first in _VSCODE_FAMILY or low_name in _VSCODE_FAMILY:
        family = _VSCODE_FAMILY.get(first) or _VSCODE_FAMILY[low_name]
        if "--type=ptyHost" in text or "node.mojom.NodeService" in text or "--type=" in text:
            return family, "helper"
        return family, "ide"
    if first in ("electron", "electron.exe") and "--type=" in text:
        return VSCODE, "helper"
    stem = first[:-3] if first.endswith(".sh") else first  # idea64.sh, idea.sh, idea64 -> idea
    stem = stem[:-2] if stem.endswith("64") else stem
    if stem in _JETBRAINS:
        return _JETBRAINS[stem], "ide"
    if first == "jetbrains-toolbox":
        return "JetBrains Toolbox", "ide"
    if first in ("java", "java.exe") and any(mark in text for mark in _JETBRAINS_MARKS):
        return _jetbrains_product(text), "ide"
    if first in ("zed", "zed-editor", "zeditor") or low_name in ("zed", "zed-editor"):
        return "Zed", "ide"
    if first in ("eclipse",) or (first == "java" and "org.eclipse.equinox.launcher" in text):
        return "Eclipse", "ide"
    return None


_JB_SELECTORS = {"intellijidea": "IntelliJ IDEA", "ideaic": "IntelliJ IDEA", "pycharmce": "PyCharm"}
_JB_PREFIXES = {
    "python": "PyCharm",
    "pycharmcore": "PyCharm",
    "ruby": "RubyMine",
    "androidstudio": "Android Studio",
}


def _jetbrains_product(text: str) -> str:
    """The JetBrains product of a ``java ... com.intellij.idea.Main`` command line."""
    selector = _option_value(text, "-Didea.paths.selector=", lambda c: c.isascii() and c.isalpha())
    if selector:
        key = selector.lower()
        by_name = {k.replace(" ", "").lower(): v for k, v in _JETBRAINS.items()}
        return _JB_SELECTORS.get(key) or _JETBRAINS.get(key) or by_name.get(key) or selector
    prefix = _option_value(text, "-Didea.platform.prefix=", lambda c: c.isalnum() or c == "_")
    if prefix:
        key = prefix.lower()
        return _JB_PREFIXES.get(key) or _JETBRAINS.get(key) or prefix
    return "IntelliJ IDEA"


def _option_value(text: str, option: str, ok: Callable[[str], bool]) -> str | None:
    """The characters ``ok`` accepts right after the first ``option`` followed by one of them."""
    at = text.find(option)
    while at >= 0:
        start = end = at + len(option)
        while end < len(text) and ok(text[end]):
            end += 1
        if end > start:
            return text[start:end]
        at = text.find(option, start)
    return None


# process name -> (display name, systemd unit, Homebrew formula, native stop command or None)
SERVICES: dict[str, tuple[str, str, str | None, str | None]] = {
    "nginx": ("nginx", "nginx", "nginx", "nginx -s quit"),
    "apache2": ("Apache", "apache2", None, "apache2ctl stop"),
    "httpd": ("Apache httpd", "httpd", "httpd", "apachectl stop"),
    "postgres": ("PostgreSQL", "postgresql", "postgresql", None),
    "postmaster": ("PostgreSQL", "postgresql", "postgresql", None),
    "mysqld": ("MySQL", "mysql", "mysql", None),
    "mariadbd": ("MariaDB", "mariadb", "mariadb", None),
    "redis-server": ("Redis", "redis-server", "redis", "redis-cli -p {port} shutdown"),
    "redis-sentinel": ("Redis Sentinel", "redis-sentinel", None, None),
    "valkey-server": ("Valkey", "valkey-server", "valkey", None),
    "mongod": ("MongoDB", "mongod", "mongodb-community", None),
    "mongos": ("MongoDB router", "mongos", None, None),
    "memcached": ("memcached", "memcached", "memcached", None),
    "rabbitmq": ("RabbitMQ", "rabbitmq-server", "rabbitmq", "rabbitmqctl stop"),
    "epmd": ("Erlang port mapper (epmd)", "epmd", None, None),
    "elasticsearch": ("Elasticsearch", "elasticsearch", "elasticsearch", None),
    "opensearch": ("OpenSearch", "opensearch", "opensearch", None),
    "kafka": ("Kafka", "kafka", "kafka", None),
    "zookeeper": ("ZooKeeper", "zookeeper", "zookeeper", None),
    "cassandra": ("Cassandra", "cassandra", "cassandra", None),
    "sshd": ("OpenSSH server", "ssh", None, None),
    "cupsd": ("CUPS", "cups", None, None),
    "dnsmasq": ("dnsmasq", "dnsmasq", "dnsmasq", None),
    "systemd-resolved": ("systemd-resolved", "systemd-resolved", None, None),
    "avahi-daemon": ("Avahi", "avahi-daemon", None, None),
    "caddy": ("Caddy", "caddy", "caddy", "caddy stop"),
    "haproxy": ("HAProxy", "haproxy", "haproxy", None),
    "traefik": ("Traefik", "traefik", "traefik", None),
    "envoy": ("Envoy", "envoy", "envoy", None),
    "containerd": ("containerd", "containerd", None, None),
    "dockerd": ("Docker engine", "docker", None, None),
    "named": ("BIND", "named", "bind", None),
    "unbound": ("Unbound", "unbound", "unbound", None),
    "squid": ("Squid", "squid", "squid", None),
    "lighttpd": ("lighttpd", "lighttpd", "lighttpd", None),
    "varnishd": ("Varnish", "varnish", "varnish", None),
    "php-fpm": ("PHP-FPM", "php-fpm", "php", None),
    "consul": ("Consul", "consul", "consul", None),
    "vault": ("Vault", "vault", "vault", None),
    "nomad": ("Nomad", "nomad", "nomad", None),
    "etcd": ("etcd", "etcd", "etcd", None),
    "minio": ("MinIO", "minio", "minio", None),
    "influxd": ("InfluxDB", "influxdb", "influxdb", None),
    "grafana": ("Grafana", "grafana-server", "grafana", None),
    "grafana-server": ("Grafana", "grafana-server", "grafana", None),
    "prometheus": ("Prometheus", "prometheus", "prometheus", None),
    "clickhouse-server": ("ClickHouse", "clickhouse-server", None, None),
    "couchdb": ("CouchDB", "couchdb", "couchdb", None),
    "mosquitto": ("Mosquitto", "mosquitto", "mosquitto", None),
    "nats-server": ("NATS", "nats-server", "nats-server", None),
    "tailscaled": ("Tailscale", "tailscaled", None, None),
    "cloudflared": ("cloudflared", "cloudflared", "cloudflared", None),
    "ollama": ("Ollama", "ollama", "ollama", None),
    "vsftpd": ("vsftpd", "vsftpd", None, None),
    "exim4": ("Exim", "exim4", None, None),
    "master": ("Postfix", "postfix", None, "postfix stop"),
    "dovecot": ("Dovecot", "dovecot", "dovecot", None),
    "smbd": ("Samba", "smbd", "samba", None),
    "rpcbind": ("rpcbind", "rpcbind", None, None),
    "chronyd": ("chrony", "chrony", None, None),
    "ntpd": ("ntpd", "ntp", None, None),
    "slapd": ("OpenLDAP", "slapd", None, None),
    "k3s": ("k3s", "k3s", None, None),
    "kubelet": ("kubelet", "kubelet", None, None),
    "kube-apiserver": ("Kubernetes API server", "kube-apiserver", None, None),
    "coredns": ("CoreDNS", "coredns", None, None),
    "cockpit-ws": ("Cockpit", "cockpit", None, None),
    "xrdp": ("xrdp", "xrdp", None, None),
    "snmpd": ("snmpd", "snmpd", None, None),
}
# Java (or Erlang) services recognised by the main class / application in their command line.
_JVM_MARKERS = (
    ("org.elasticsearch", "elasticsearch"),
    ("org.opensearch", "opensearch"),
    ("kafka.Kafka", "kafka"),
    ("org.apache.zookeeper", "zookeeper"),
    ("org.apache.cassandra", "cassandra"),
    ("rabbit", "rabbitmq"),
)


def service_name(name: str, argv: Sequence[str]) -> str | None:
    """The key in :data:`SERVICES` this process is, or None (pure: name and command line only)."""
    candidates = [name.lower()]
    if argv:
        first = next(iter(argv[0].split()), "")  # argv[0] may be blanks only (exec -a " ")
        candidates.append(os.path.basename(first).lower().rstrip(":"))
        prog = program(argv)[0]
        if prog:
            candidates.append(prog)
    for c in candidates:
        # "postgres: checkpointer", "php-fpm8.2", "php-fpm: master process"
        c = c.split(":", 1)[0]
        if c.startswith("php-fpm"):
            c = "php-fpm"
        if c == "master" and not any("postfix" in a for a in argv):
            continue
        if c in SERVICES:
            return c
    base = candidates[-1]
    if base in ("java", "beam.smp", "beam", "erl") or name in ("java", "beam.smp"):
        text = " ".join(argv)
        for marker, key in _JVM_MARKERS:
            if marker in text and (key != "rabbitmq" or name.startswith("beam") or "beam" in base):
                return key
    return None


_SHELLS = {
    "bash",
    "zsh",
    "fish",
    "sh",
    "dash",
    "ksh",
    "tcsh",
    "csh",
    "pwsh",
    "powershell",
    "nu",
    "xonsh",
    "cmd",
}
_SHELL_VALUE_OPTIONS = {"--init-file", "--rcfile", "-o", "+o", "-O", "+O", "--login-file", "-NoExit"}


def is_interactive_shell(argv: Sequence[str], name: str = "") -> bool:
    """A shell a person types into (``bash``, ``-zsh``, ``fish -l``), not ``sh -c CMD``."""
    first = basename(argv[0]).lstrip("-").lower() if argv else name.lower().lstrip("-")
    if first.endswith(".exe"):
        first = first[:-4]
    if first not in _SHELLS:
        return False
    args = iter(argv[1:])
    for a in args:
        if a in _SHELL_VALUE_OPTIONS:
            next(args, None)  # --init-file FILE (VS Code's shell integration), --rcfile FILE, -o opt
            continue
        if not a.startswith(("-", "+")) or a in ("-c", "/c", "-Command", "-File"):
            return False  # runs a script or a command: a task, not a person's shell
        if not a.startswith("--") and "c" in a[1:]:
            return False  # -lc, -ic
    return True
