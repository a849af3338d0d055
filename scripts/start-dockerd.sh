#!/usr/bin/env bash
# Start a Docker engine for portdoctor's tests unless one already answers.
#
#   scripts/start-dockerd.sh            # start (or reuse) the engine, wait until `docker info` works
#   scripts/start-dockerd.sh --stop     # stop the engine only if this script started it
#
# The engine runs with the vfs storage driver (no overlayfs needed inside a VM/sandbox). If dockerd
# cannot start with its iptables rules (no netfilter in the kernel), it is retried with
# --iptables=false: published ports still work there, through docker-proxy (the userland proxy).
# Prints "started", "reused" or "stopped" on the last line of stdout.
set -euo pipefail

STATE=${PORTDOCTOR_CI_STATE:-/tmp/portdoctor-ci}
TIMEOUT=${DOCKERD_TIMEOUT:-90}
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
mkdir -p "$STATE"

engine_up() { timeout 15 docker info >/dev/null 2>&1; }

if [[ "${1:-}" == "--stop" ]]; then
    if [[ -s "$PIDFILE" ]]; then
        pid=$(cat "$PIDFILE")
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$PIDFILE"
        echo "stopped"
    else
        echo "not started by this script; left alone"
    fi
    exit 0
fi

if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
    echo "start-dockerd: docker/dockerd not installed (apt-get install docker.io)" >&2
    exit 1
fi

if engine_up; then
    echo "reused"
    exit 0
fi

try_start() {
    # $@: extra dockerd flags
    echo "start-dockerd: dockerd --storage-driver=vfs $* (log: $LOG)" >&2
    # setsid: own session, so the engine outlives this script and is not hit by terminal signals.
    setsid dockerd --storage-driver=vfs "$@" </dev/null >>"$LOG" 2>&1 &
    local pid=$!
    echo "$pid" >"$PIDFILE"
    local deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        if engine_up; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "start-dockerd: dockerd exited early; last log lines:" >&2
            tail -n 15 "$LOG" >&2 || true
            rm -f "$PIDFILE"
            return 1
        fi
        sleep 0.5
    done
    echo "start-dockerd: engine did not answer within ${TIMEOUT}s; last log lines:" >&2
    tail -n 15 "$LOG" >&2 || true
    kill -TERM "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
    return 1
}

if try_start || try_start --iptables=false --ip6tables=false; then
    echo "started"
    exit 0
fi
exit 1
