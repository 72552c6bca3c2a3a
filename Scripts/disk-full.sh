#!/usr/bin/env bash
# A full disk, for real (issue 13): enrichd's data directory on a 48 MiB tmpfs, filled while the server runs.
#
#  1. sync a 150k-row model: success, snapshot saved;
#  2. fill the tmpfs, change the data, sync again: the run is a partial success naming "No space left on device",
#     the new data is served, the log says why; a catalog write (CreateModel) fails INTERNAL with a request id,
#     its cause in the log;
#  3. free the space and restart: the previous snapshot file (left whole) is what is served.
# Mounting needs root (CAP_SYS_ADMIN). Without it the script says so and gets its ENOSPC from /dev/full instead:
# the snapshot's temporary file is a symlink to it, so the write fails in the kernel just the same.
# Uses the debug build (BIN to choose another). Prints each step; exits non-zero on a failed check.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-$(swift build --show-bin-path)}
work=$(mktemp -d /tmp/enrich-diskfull-XXXXXX)
data="$work/data"
mkdir -p "$data"
mounted=false
if [ -z "${DISKFULL_NO_MOUNT:-}" ] && mount -t tmpfs -o size=48m tmpfs "$data" 2>"$work/mount.err"; then
    mounted=true
    echo "data directory on a 48 MiB tmpfs at $data"
else
    echo "cannot mount a tmpfs ($(cat "$work/mount.err" 2>/dev/null || echo DISKFULL_NO_MOUNT is set)): ENOSPC comes from /dev/full instead"
fi
cleanup() {
    [ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null || true
    sleep 0.3
    $mounted && umount "$data" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- server log"; tail -20 "$work/enrichd.log"; exit 1; }

Scripts/gen-certs.sh "$work/certs" >/dev/null
"$bin/enrichd" demo-data --warehouse "$work/warehouse.sqlite" --users 10 --products 150000 >/dev/null
token=enr_diskfull_owner_0123456789abcdef
start() {
    ENRICH_BOOTSTRAP_TOKEN=$token "$bin/enrichd" serve --port 0 --no-metrics --data-dir "$data" --warehouse "$work/warehouse.sqlite" \
        --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" >"$work/enrichd.out" 2>>"$work/enrichd.log" &
    echo $! >"$work/pid"
    for _ in $(seq 1 100); do grep -q "listening on" "$work/enrichd.out" 2>/dev/null && break; sleep 0.1; done
    port=$(sed -n 's/^enrichd listening on .*:\([0-9]*\)$/\1/p' "$work/enrichd.out")
    [ -n "$port" ] || fail "enrichd did not start"
    export ENRICH_SERVER="127.0.0.1:$port" ENRICH_CA_FILE="$work/certs/ca.pem" ENRICH_TOKEN=$token
}
ctl() { "$bin/enrichctl" "$@"; }
name_of() { ctl lookup products SKU-0000001 --columns name --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["row"]["name"])'; }
# The latest run of products as "status: error".
latest_run() { ctl sync runs products --json | python3 -c 'import json,sys; r = json.load(sys.stdin)[0]; print(r["status"] + ": " + r["error"])'; }

start
ctl models create products --table products --primary-key sku >/dev/null
ctl sync trigger products --watch >/dev/null 2>&1 || true
first=$(latest_run)
echo "1. first sync: $first"
echo "$first" | grep -q success || fail "the first sync did not succeed"
snapshot="$data/snapshots/products.snapshot"
[ -f "$snapshot" ] || fail "no snapshot file"
before=$(name_of)
echo "   served: SKU-0000001 is '$before'; snapshot file $(stat -c %s "$snapshot") bytes"

sqlite3 "$work/warehouse.sqlite" "UPDATE products SET name = 'changed while the disk is full' WHERE sku = 'SKU-0000001'"
if $mounted; then
    # Room left for the catalog's small writes, not for a 16 MB snapshot.
    free_mib=$(( $(stat -f -c '%a * %S' "$data") / 1048576 ))
    dd if=/dev/zero of="$data/filler" bs=1M count=$((free_mib - 3)) 2>/dev/null || true
    echo "2. disk filled: $(df -h "$data" | tail -1 | awk '{print $4}') left"
else
    ln -s /dev/full "$snapshot.tmp"
    echo "2. $snapshot.tmp -> /dev/full"
fi
ctl sync trigger products --full --watch >/dev/null 2>&1 || true
second=$(latest_run)
echo "   second sync: $second"
echo "$second" | grep -q "^partial" || fail "the run on a full disk was not a partial success"
echo "$second" | grep -q "No space left on device" || fail "the run does not name ENOSPC"
grep -q "could not be saved to disk" "$work/enrichd.log" || fail "the log does not say the snapshot was not saved"
echo "   log: $(grep "could not be saved to disk" "$work/enrichd.log" | tail -1 | cut -c1-200)"
now=$(name_of)
echo "   served: SKU-0000001 is '$now' (the new data, in memory)"
[ "$now" = "changed while the disk is full" ] || fail "the new snapshot is not served"
if $mounted; then
    dd if=/dev/zero of="$data/filler2" bs=64k 2>/dev/null || true
    echo "   disk filled to the last byte"
    if ctl models create more --table users --primary-key id >"$work/create.out" 2>&1; then
        fail "a catalog write succeeded on a full disk"
    fi
    echo "   catalog write on a full disk: $(cat "$work/create.out")"
    grep -q "INTERNAL" "$work/create.out" || fail "a failed catalog write is not INTERNAL"
    grep -q "request" "$work/create.out" || fail "a failed catalog write carries no request id"
    grep -q "disk is full" "$work/enrichd.log" || fail "the log does not name the storage error"
    echo "   log: $(grep "disk is full" "$work/enrichd.log" | tail -1 | cut -c1-220)"
fi

kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true
$mounted && rm -f "$data/filler" "$data/filler2"
rm -f "$snapshot.tmp"
start
restarted=$(name_of)
echo "3. after freeing the space and restarting: SKU-0000001 is '$restarted' (the previous snapshot file, whole)"
[ "$restarted" = "$before" ] || fail "a restart does not serve the previous snapshot"
ls "$data/snapshots" | grep -q "\.tmp$" && fail "a partial snapshot file was left behind"
echo "disk-full: PASS"
