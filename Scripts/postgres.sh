#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for tests and benchmarks, from Debian's postgresql package.
#   Scripts/postgres.sh start DIR [CERT KEY]
#                                   initdb in DIR (trust auth but SCRAM for the role
#                                   enrich_password_test, loopback only, a free port), start it and print
#                                   its libpq connection string (also written to DIR/conninfo); with a PEM
#                                   certificate and key, it also serves TLS (connect with sslmode=require)
#   Scripts/postgres.sh stop DIR    stop it (the directory stays; remove it yourself)
# PostgreSQL refuses to run as root, so under root the cluster belongs to the `postgres` user the package creates.
set -euo pipefail
command=${1:-}
dir=${2:-}
tls_cert=${3:-}
tls_key=${4:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 64; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server not installed (apt-get install postgresql)" >&2; exit 69; }
as_owner=()
user=$(id -un)
if [ "$(id -u)" -eq 0 ]; then
    as_owner=(runuser -u postgres --)
    user=postgres
fi
case "$command" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_owner[@]}" "$bin/initdb" -D "$dir/cluster" -U "$user" --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    # One role must log in with a password (SCRAM), so tests can prove a stored password reaches the server.
    { echo "host all enrich_password_test 127.0.0.1/32 scram-sha-256"; cat "$dir/cluster/pg_hba.conf"; } > "$dir/hba.tmp"
    "${as_owner[@]}" cp "$dir/hba.tmp" "$dir/cluster/pg_hba.conf"
    rm -f "$dir/hba.tmp"
    options="-c listen_addresses=127.0.0.1 -p $port -k $dir/cluster -c fsync=off -c synchronous_commit=off"
    if [ -n "$tls_cert" ]; then
        # The server reads the key only if its owner alone can: copies owned by the cluster's user, mode 0600.
        [ -f "$tls_cert" ] && [ -f "$tls_key" ] || { echo "TLS certificate or key missing: $tls_cert $tls_key" >&2; exit 66; }
        install -m 0644 "$tls_cert" "$dir/server.crt"
        install -m 0600 "$tls_key" "$dir/server.key"
        [ "$(id -u)" -ne 0 ] || chown postgres "$dir/server.crt" "$dir/server.key"
        options="$options -c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    fi
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/cluster" -l "$dir/cluster/server.log" -w -t 30 \
        -o "$options" start >/dev/null \
        || { cat "$dir/cluster/server.log" >&2; exit 1; }
    echo "host=127.0.0.1 port=$port user=$user dbname=postgres" | tee "$dir/conninfo"
    ;;
stop)
    [ -d "$dir/cluster" ] || exit 0
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/cluster" -m fast -w stop >/dev/null || true
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2; exit 64 ;;
esac
