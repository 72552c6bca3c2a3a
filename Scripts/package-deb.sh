#!/usr/bin/env bash
# Builds the Debian package, and with --test installs it on this machine, runs the server from the installed
# paths as the enrichd user with the unit's command line, calls it, and removes the package (issue 16).
#
#   Scripts/package-deb.sh            build .build-deb/enrichd_<version>_amd64.deb
#   Scripts/package-deb.sh --test     build, then dpkg -i, start, call, stop, dpkg --purge (needs root; what CI runs)
#
# The package: /usr/bin/{enrichd,enrichctl,enrich-load} (release builds with the Swift runtime linked
# statically, so only Debian libraries are needed), /etc/enrichd/enrichd.toml (a conffile), the systemd unit
# /lib/systemd/system/enrichd.service (hardened; not enabled or started by the install), an `enrichd` system user
# and /var/lib/enrichd (mode 0700, owned by it). Removing keeps /var/lib/enrichd; purging deletes it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dpkg-deb >/dev/null || { echo "dpkg-deb missing" >&2; exit 2; }
out=.build-deb
echo "building static release binaries (several minutes the first time)..." >&2
for product in enrichd enrichctl enrich-load; do
    swift build -c release --static-swift-stdlib --scratch-path "$out/build" --product "$product" 2>&1 \
        | grep -E "error:|complete" | tail -1 >&2
done
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$out/build" --show-bin-path)
version=$("$bin/enrichd" --version)
arch=$(dpkg --print-architecture)
root="$out/root"
rm -rf "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/etc/enrichd" "$root/lib/systemd/system" "$root/usr/share/doc/enrichd"
for binary in enrichd enrichctl enrich-load; do install -m 0755 -s "$bin/$binary" "$root/usr/bin/$binary"; done
install -m 0640 packaging/enrichd.toml "$root/etc/enrichd/enrichd.toml"
install -m 0644 packaging/enrichd.service "$root/lib/systemd/system/enrichd.service"
install -m 0644 README.md "$root/usr/share/doc/enrichd/README.md"
install -m 0644 docs/PROTOCOL.md "$root/usr/share/doc/enrichd/PROTOCOL.md"
# The libraries the binaries link, as Debian packages (dpkg-shlibdeps would need a debian/ tree; these are read
# from the binaries' NEEDED entries and checked below).
cat >"$root/DEBIAN/control" <<CONTROL
Package: enrichd
Version: $version
Section: net
Priority: optional
Architecture: $arch
Maintainer: enrich maintainers <enrich@localhost>
Depends: libc6, libssl3, libsqlite3-0, libprotobuf-c1, libpq5, libstdc++6, libgcc-s1, adduser
Description: in-memory warehouse tables for enriching events in flight
 enrichd keeps warehouse tables (SQLite, PostgreSQL) in a columnar in-memory cache and enriches events with
 them over a TLS protobuf protocol, with Segment-compatible mappings. Includes enrichctl and enrich-load.
CONTROL
echo "/etc/enrichd/enrichd.toml" >"$root/DEBIAN/conffiles"
cat >"$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    install -d -m 0700 /var/lib/enrichd
    if ! getent passwd enrichd >/dev/null; then
        adduser --system --group --home /var/lib/enrichd --no-create-home --shell /usr/sbin/nologin enrichd >/dev/null
    fi
    chown enrichd:enrichd /var/lib/enrichd
    install -d -m 0750 -o root -g enrichd /etc/enrichd/tls
    chgrp enrichd /etc/enrichd/enrichd.toml
    if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
fi
POSTINST
cat >"$root/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && systemctl is-active --quiet enrichd; then systemctl stop enrichd; fi
PRERM
cat >"$root/DEBIAN/postrm" <<'POSTRM'
#!/bin/sh
set -e
if [ "$1" = "purge" ]; then
    rm -rf /var/lib/enrichd /etc/enrichd
    if getent passwd enrichd >/dev/null; then deluser --system enrichd >/dev/null 2>&1 || true; fi
fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null || true; fi
POSTRM
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
# Every library the binaries need is in a declared package.
for binary in "$root"/usr/bin/*; do
    for library in $(objdump -p "$binary" | awk '/NEEDED/ {print $2}'); do
        case "$library" in
            libc.so.6 | libm.so.6 | libdl.so.2 | libpthread.so.0 | librt.so.1 | libutil.so.1 | ld-linux-*) ;;
            libssl.so.3 | libcrypto.so.3 | libsqlite3.so.0 | libprotobuf-c.so.1 | libpq.so.5 | libstdc++.so.6 | libgcc_s.so.1) ;;
            *) echo "$(basename "$binary") needs $library, which no declared dependency provides" >&2; exit 1 ;;
        esac
    done
done
deb="$out/enrichd_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1))"
[ "${1:-}" = "--test" ] || exit 0

# --- install, start from the installed paths as the enrichd user, call, stop, remove ---
[ "$(id -u)" -eq 0 ] || { echo "--test installs the package: run as root" >&2; exit 1; }
dpkg -i "$deb" >/dev/null
trap 'dpkg --purge enrichd >/dev/null 2>&1 || true' EXIT
if command -v systemd-analyze >/dev/null; then
    # The installed unit, so the binaries it names exist. Any finding fails the test.
    findings=$(systemd-analyze verify /lib/systemd/system/enrichd.service 2>&1 || true)
    [ -z "$findings" ] || { echo "systemd-analyze verify enrichd.service:" >&2; echo "$findings" >&2; exit 1; }
    echo "systemd-analyze verify enrichd.service: no findings"
else
    echo "systemd-analyze not installed: the unit was not verified"
fi
[ "$(stat -c '%a %U' /var/lib/enrichd)" = "700 enrichd" ] || { echo "/var/lib/enrichd is not 0700 enrichd" >&2; exit 1; }
/usr/bin/enrichd --version
# TLS material where the default configuration expects it, and a free port in a drop-in environment.
Scripts/gen-certs.sh /etc/enrichd/tls >/dev/null
chgrp enrichd /etc/enrichd/tls/*.pem
chmod 0640 /etc/enrichd/tls/*.pem
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
http=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
command=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/enrichd.service)
runuser -u enrichd -- env ENRICHD_PORT="$port" ENRICHD_HTTP_PORT="$http" /usr/bin/enrichd config check --config /etc/enrichd/enrichd.toml | tail -1
log=$(mktemp)
runuser -u enrichd -- env ENRICHD_PORT="$port" ENRICHD_HTTP_PORT="$http" $command >"$log.out" 2>"$log" &
for _ in $(seq 1 100); do grep -q "listening on" "$log.out" 2>/dev/null && break; sleep 0.1; done
grep -q "listening on" "$log.out" || { cat "$log" >&2; exit 1; }
pid=$(pgrep -u enrichd -f "/usr/bin/enrichd serve")
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE=/etc/enrichd/tls/ca.pem ENRICH_TOKEN_FILE=/var/lib/enrichd/owner.token
[ "$(stat -c '%a %U' /var/lib/enrichd/owner.token)" = "600 enrichd" ] || { echo "owner.token is not 0600 enrichd" >&2; exit 1; }
/usr/bin/enrichctl health
curl -fsS "http://127.0.0.1:$http/readyz"
curl -fsS "http://127.0.0.1:$http/" | grep -q "<h1>enrichd" && echo "status page served"
kill -TERM "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$pid" 2>/dev/null || { echo "enrichd did not stop on SIGTERM" >&2; exit 1; }
dpkg --purge enrichd >/dev/null
trap - EXIT
! getent passwd enrichd >/dev/null || { echo "the enrichd user is still there after purge" >&2; exit 1; }
[ ! -e /var/lib/enrichd ] && [ ! -e /usr/bin/enrichd ] || { echo "files left after purge" >&2; exit 1; }
echo "package install, start, call, stop, purge: PASS"
