"""application: a known service (nginx, postgres, redis...) or another user's process holds the port.

Such a holder is protected: portdoctor advises another port first, and how to stop the service
properly; ``portdoctor free`` refuses it without --force.
"""

from __future__ import annotations

import os

from ..model import Action, Cause, Holder
from ..platforms import MACOS
from .argv import program

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from . import Context

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
        first = argv[0].split()[0] if argv[0] else ""
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


def service_of(holder: Holder) -> str | None:
    """The known service ``holder`` is, or None."""
    return service_name(holder.name, holder.cmdline)


def _stop_service(key: str, port: int, sudo: str) -> Action:
    label, unit, formula, native = SERVICES[key]
    if MACOS and formula:
        return Action(
            description=f"Or stop {label} if you do not need it (Homebrew service)",
            command=f"brew services stop {formula}",
            safe=False,
            kind="advice",
        )
    if os.path.isdir("/run/systemd/system"):
        return Action(
            description=f"Or stop {label} properly if you do not need it",
            command=f"{sudo}systemctl stop {unit}",
            safe=False,
            kind="systemctl-stop",
        )
    if native:
        return Action(
            description=f"Or stop {label} properly if you do not need it",
            command=sudo + native.format(port=port),
            safe=False,
            kind="advice",
        )
    return Action(
        description=f"Or stop {label} properly if you do not need it (its init script)",
        command=f"{sudo}service {unit} stop",
        safe=False,
        kind="advice",
    )


def detect(ctx: Context) -> Cause | None:
    """A known service, or a process of another user, holds the port: protect it."""
    holders = ctx.holders
    if not holders:
        return None
    known = [(h, service_of(h)) for h in holders]
    service = next(((h, s) for h, s in known if s), None)
    foreign = [h for h in holders if (h.uid is not None or h.user is not None) and not ctx.is_mine(h)]
    if service is None and not foreign:
        return None
    main = service[0] if service else foreign[0]
    owner = main.user or (f"uid {main.uid}" if main.uid is not None else "an unknown user")
    sudo = "sudo " if main.uid != ctx.my_uid and ctx.my_uid != 0 else ""
    from ..invocation import sudo_command

    pids = tuple(h.pid for h in holders)
    evidence = [
        f"pid {h.pid} ({h.name}) holds the listening socket, running as {h.user or h.uid}" for h in holders
    ]
    actions = [
        Action(
            description="Use another port (leave the service running)",
            command=f"portdoctor pick --near {ctx.port}",
            safe=True,
            kind="pick",
        )
    ]
    if service is not None:
        key = service[1]
        assert key is not None
        label = SERVICES[key][0]
        mine = ctx.is_mine(main)
        summary = (
            f"Port {ctx.port} is held by {label} ({main.name}, pid {main.pid}, user {owner}), a service "
            "other things may depend on; use another port, or stop the service properly."
        )
        evidence.append(f"{main.name} is a known service ({label})")
        actions.append(_stop_service(key, ctx.port, sudo))
    else:
        key = None
        mine = False
        summary = (
            f"Port {ctx.port} is held by {main.name} (pid {main.pid}) of user {owner}, not you; "
            "use another port, or ask them (or an administrator) to stop it."
        )
        evidence.append(f"you are {'root' if ctx.my_uid == 0 else f'uid {ctx.my_uid}'}, it runs as {owner}")
    actions.append(
        Action(
            description="Or stop it anyway (it is protected: needs --force)",
            command=sudo_command("free", str(ctx.port), "--force", *_udp(ctx.protocol))
            if sudo
            else f"portdoctor free {ctx.port} --force",
            safe=False,
            kind="free",
            targets=pids,
        )
    )
    return Cause(
        kind="application",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details={
            "protected": True,
            "service": key,
            "owner": owner,
            "owned_by_you": mine,
        },
    )


def _udp(protocol: str) -> tuple[str, ...]:
    return ("--udp",) if protocol == "udp" else ()
