#!/usr/bin/env bash
# Build the local test image portdoctor-busybox:latest without any registry: `docker import` of a
# tarred folder holding busybox-static and its applets (sh, httpd, nc, sleep, ...).
#
#   scripts/make-image.sh           # build unless the image exists
#   scripts/make-image.sh --force   # rebuild
#
# Containers from it: `docker run -d -p HOSTPORT:80 portdoctor-busybox httpd -f -p 80 -h /www`.
set -euo pipefail

IMAGE=${PORTDOCTOR_TEST_IMAGE:-portdoctor-busybox:latest}

if [[ "${1:-}" != "--force" ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "make-image: $IMAGE exists"
    exit 0
fi

BUSYBOX=""
for c in /bin/busybox /usr/bin/busybox; do
    # busybox-static is linked statically; a dynamic busybox would not run in an empty rootfs.
    if [[ -x "$c" ]] && ! ldd "$c" >/dev/null 2>&1; then BUSYBOX=$c; break; fi
done
if [[ -z "$BUSYBOX" ]]; then
    echo "make-image: no static busybox found (apt-get install busybox-static)" >&2
    exit 1
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www" "$root/proc" "$root/sys" "$root/dev"
chmod 1777 "$root/tmp"
cp "$BUSYBOX" "$root/bin/busybox"
for applet in sh ash httpd nc sleep ls cat echo ps kill netstat ip ifconfig wget true false env id \
              hostname mkdir rm sed grep tail head date; do
    ln -s busybox "$root/bin/$applet"
done
echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
echo "portdoctor test page" >"$root/www/index.html"

tar -C "$root" --numeric-owner -cf - . |
    docker import -c 'ENV PATH=/bin' -c 'WORKDIR /' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "make-image: built $IMAGE"
