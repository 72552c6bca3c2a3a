#!/usr/bin/env bash
# The status page in a real browser (issue 16): starts enrichd (the debug build, plaintext, on 127.0.0.1) over a
# small demo warehouse, syncs two models, breaks a third, enriches through a destination, then has headless
# Chromium (Debian's `chromium`) load http://127.0.0.1:<http port>/ and dump the DOM it built, and take a
# screenshot; checks what was rendered: the version, readiness, each model's row with its rows and last run, the
# failed run, the destination's counts, and that the page asked for nothing else (no external request). Run by
# Scripts/test.sh; exits non-zero on any miss.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { echo "chromium missing: apt-get install -y chromium" >&2; exit 2; }
bin=.build/debug
work=$(mktemp -d /tmp/enrich-status-XXXXXX)
cleanup() { [ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null || true; sleep 0.2; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
http=$(free_port)
token=enr_status_owner_0123456789abcdef
"$bin/enrichd" demo-data --warehouse "$work/data/warehouse.sqlite" --users 300 --products 200 >/dev/null
sqlite3 "$work/data/warehouse.sqlite" "CREATE TABLE doomed AS SELECT * FROM users"
ENRICH_BOOTSTRAP_TOKEN=$token "$bin/enrichd" serve --insecure-plaintext --port "$port" --http-port "$http" \
    --data-dir "$work/data" --log-format json >"$work/out" 2>"$work/log" &
echo $! >"$work/pid"
for _ in $(seq 1 100); do grep -q "listening on" "$work/out" 2>/dev/null && break; sleep 0.1; done
export ENRICH_SERVER="127.0.0.1:$port" ENRICH_TOKEN="$token"
ctl() { "$bin/enrichctl" "$@" --insecure-plaintext; }
ctl models create users --table users --primary-key id >/dev/null
ctl models create products --table products --primary-key sku >/dev/null
ctl models create doomed --table doomed --primary-key id >/dev/null
sqlite3 "$work/data/warehouse.sqlite" "DROP TABLE doomed"
for model in users products doomed; do ctl sync trigger "$model" --watch >/dev/null 2>&1 || true; done
cat >"$work/mappings.json" <<'JSON'
{"mappings": [{"name": "all", "matches": [{"model": "users", "match_property": "userId"}],
  "enrichments": [{"model": "users", "column": "plan", "key": "traits.plan"}]}]}
JSON
ctl destinations create braze --file "$work/mappings.json" >/dev/null
ctl enrich --destination braze --event '{"type":"track","userId":7}' >/dev/null
ctl enrich --destination braze --event '{"type":"track","userId":999999}' >/dev/null

timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --dump-dom "http://127.0.0.1:$http/" >"$work/dom.html" 2>"$work/chromium.log"
timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run \
    --window-size=1200,900 --screenshot="$work/page.png" "http://127.0.0.1:$http/" >/dev/null 2>&1
cp "$work/page.png" "${SCREENSHOT:-/dev/null}" 2>/dev/null || true
python3 - "$work/dom.html" "$work/page.png" "$work/log" <<'PY'
import html.parser, os, sys

class Tables(html.parser.HTMLParser):
    """Collects every table (by id) as rows of cell texts, and the text of elements with ids."""
    def __init__(self):
        super().__init__()
        self.tables, self.ids, self.stack, self.current, self.cell, self.id_text = {}, {}, [], None, None, None
        self.references = []
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.references += [value for name, value in attrs.items() if name in ("src", "href", "action", "srcset")]
        if tag in ("script", "link", "img", "iframe", "object"): self.references.append(tag)
        if tag == "table": self.current = self.tables.setdefault(attrs.get("id", "?"), [])
        elif tag == "tr" and self.current is not None: self.current.append([])
        elif tag in ("td", "th") and self.current is not None: self.cell = ""
        if "id" in attrs and tag != "table": self.id_text = (attrs["id"], "")
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.current[-1].append(self.cell.strip()); self.cell = None
        elif tag == "table": self.current = None
        if self.id_text and tag in ("span", "b", "p"):
            self.ids[self.id_text[0]] = self.id_text[1].strip(); self.id_text = None
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
        if self.id_text: self.id_text = (self.id_text[0], self.id_text[1] + data)

dom, png, log = sys.argv[1:4]
page = Tables()
page.feed(open(dom).read())
failures = []
def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition: failures.append(what)

models = {row[0]: row for row in page.tables.get("models", [])[1:]}
check(page.ids.get("version") == "0.1.0", "the version is shown")
check(page.ids.get("ready") in ("yes", "no"), "readiness is shown")
check(models.get("users", [None] * 8)[3] == "300" and "success" in models["users"][7], "users: 300 rows, last run a success")
check(models.get("products", [None] * 8)[3] == "200", "products: 200 rows")
check(models.get("doomed", [None] * 8)[3] == "not loaded" and "failed" in models["doomed"][7], "doomed: not loaded, last run failed")
failed = page.tables.get("failed-runs", [])[1:]
check(any(row[1] == "doomed" and row[2] == "failed" and row[4] for row in failed), "the failed run is listed with its error")
destinations = {row[0]: row for row in page.tables.get("destinations", [])[1:]}
check(destinations.get("braze", [None] * 7)[1:4] == ["1", "2", "1"], "braze: 1 mapping, 2 events, 1 enriched")
check(os.path.getsize(png) > 10_000, f"a screenshot was rendered ({os.path.getsize(png)} bytes)")
check(page.references == [], f"the page refers to nothing else: no scripts, links, images or forms ({page.references})")
sys.exit(1 if failures else 0)
PY
echo "status page in Chromium: PASS"
