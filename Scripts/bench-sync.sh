#!/usr/bin/env bash
# Sync benchmark (issue 4): the same ROWS-row (default 1M), 10-column table in the embedded SQLite warehouse and
# in a throwaway PostgreSQL cluster on 127.0.0.1. Prints, from one run: each source's own bulk export
# (`sqlite3 -csv`, `COPY bench TO STDOUT` through psql), the full sync, a 1 %-changed re-sync, and
# restart-to-serving from the persisted snapshots. Release build; takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
rows=${ROWS:-1000000}
swift build -c release --product sync-bench 2>&1 | grep -E "error|Compiling|Build complete" | grep -v "^\[" || true
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d /tmp/enrich-bench-sync-XXXXXX)
pg=$(mktemp -d /tmp/enrich-bench-pg-XXXXXX)  # its own directory: under root the cluster belongs to `postgres`
trap 'Scripts/postgres.sh stop "$pg"; rm -rf "$work" "$pg"' EXIT
conninfo=$(Scripts/postgres.sh start "$pg")
"$bin/sync-bench" --sqlite "$work/warehouse.sqlite" --postgres "$conninfo" --rows "$rows" --setup-only
seconds() { python3 -c 'import sys, time, subprocess; t = time.monotonic(); subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(round(time.monotonic() - t, 3))' "$@"; }
sqlite_export=$(seconds sqlite3 -csv "$work/warehouse.sqlite" "SELECT * FROM bench")
postgres_export=$(seconds psql -q "$conninfo" -c "COPY bench TO STDOUT")
echo "exports: sqlite3 -csv ${sqlite_export} s, COPY TO STDOUT ${postgres_export} s"
"$bin/sync-bench" --sqlite "$work/warehouse.sqlite" --postgres "$conninfo" --rows "$rows" \
    --work "$work/run" --sqlite-export-seconds "$sqlite_export" --postgres-export-seconds "$postgres_export"
