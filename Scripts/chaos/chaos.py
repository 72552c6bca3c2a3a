#!/usr/bin/env python3
"""Hostile clients against a real enrichd, side by side with a well-behaved one (Scripts/chaos.sh runs this).

For each case the server is started fresh (from the same data directory, so it serves its persisted snapshot at
once), four hostile processes run the case's worst input for DURATION seconds while a prober makes Health calls
two ways: on a connection opened before the attack, and on a fresh connection each time (TCP connect, TLS
handshake, call). The table gives, per case: the limit the server applied (as the hostile clients saw it), the
prober's p50/p99, the server's RSS before and after, the longest an inline slice held an event loop (from
/metrics), and PASS/FAIL against the targets: fresh-connection Health p99 <= 10 ms, RSS growth under the
connection output limit for the never-reading case, no slice over 2 ms.

Targets 127.0.0.1 only. Bounded: each case stops after DURATION seconds; every process is killed at the end.
"""
import argparse
import json
import multiprocessing
import os
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from enrich_client.proto import admin_pb2, enrich_pb2, rpc_pb2, sync_pb2  # noqa: E402

HEADER = struct.Struct(">IBI")
REQUEST, MESSAGE, STATUS, CANCEL = 1, 2, 3, 4
CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
         "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
         "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]


def request_frame(request_id, method, message_bytes, token=None, header_bytes=None):
    if header_bytes is None:
        header = rpc_pb2.RequestHeader(method=method)
        if token:
            header.authorization = "Bearer " + token
        header_bytes = header.SerializeToString()
    payload = struct.pack(">I", len(header_bytes)) + header_bytes + message_bytes
    return HEADER.pack(len(payload), REQUEST, request_id) + payload


class Connection:
    """A TLS connection speaking the frame protocol."""

    def __init__(self, args, rcvbuf=None):
        context = ssl.create_default_context(cafile=args.ca)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        raw.settimeout(10)
        raw.connect(("127.0.0.1", args.port))
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(raw, server_hostname="127.0.0.1")
        self.buffer = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def frames(self):
        """Reads until at least one whole frame is buffered; returns them all."""
        while True:
            out = []
            while len(self.buffer) >= HEADER.size:
                length, kind, rid = HEADER.unpack_from(self.buffer)
                if len(self.buffer) < HEADER.size + length:
                    break
                out.append((kind, rid, bytes(self.buffer[HEADER.size:HEADER.size + length])))
                del self.buffer[:HEADER.size + length]
            if out:
                return out
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk

    def call(self, rid, method, message_bytes, token=None):
        """One call; returns (status code name, message payload or None)."""
        self.send(request_frame(rid, method, message_bytes, token))
        body = None
        while True:
            for kind, frame_id, payload in self.frames():
                if kind == MESSAGE and frame_id == rid:
                    body = payload
                elif kind == STATUS and frame_id in (rid, 0):
                    status = rpc_pb2.Status()
                    status.ParseFromString(payload)
                    return CODES[status.code] if status.code < len(CODES) else str(status.code), body

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# MARK: - Hostile clients. Each runs until `stop_at`, counting what it saw in `seen` (a dict sent back).

def never_reading(args, stop_at, seen):
    """Lookups of 1,000 keys and 8 columns, sent as fast as the server takes them; answers never read."""
    conn = Connection(args, rcvbuf=16384)
    keys = [f"SKU-{i * 997 % 200000 + 1:07d}" for i in range(1000)]
    message = enrich_pb2.LookupRequest(model="products", columns=args.columns.split(","), string_keys=keys).SerializeToString()
    conn.sock.settimeout(0.5)
    rid = 0
    while time.time() < stop_at:
        rid += 1
        try:
            conn.send(request_frame(rid, "enrich.v1.Enrich/Lookup", message, args.token))
            seen["sent"] = seen.get("sent", 0) + 1
        except socket.timeout:
            seen["send blocked (server stopped reading)"] = seen.get("send blocked (server stopped reading)", 0) + 1
        except (ssl.SSLError, OSError):
            seen["send blocked (server stopped reading)"] = seen.get("send blocked (server stopped reading)", 0) + 1
            time.sleep(0.5)
    conn.close()


def heavy_conditions(args, stop_at, seen):
    """Enrich through a destination whose condition is 80 contains() (within the 4 KiB limit), 40 events of
    30 KB each, answers read."""
    note = ("lorem ipsum " * 2600)[:30000]
    events = [json.dumps({"type": "track", "event": "Viewed", "userId": f"u{i}",
                          "properties": {"sku": f"SKU-{i + 1:07d}", "note": note}}).encode() for i in range(40)]
    message = enrich_pb2.EnrichRequest(events=events, destination="heavy").SerializeToString()
    conn = Connection(args)
    rid = 0
    while time.time() < stop_at:
        rid += 1
        code, body = conn.call(rid, "enrich.v1.Enrich/Enrich", message, args.token)
        if code == "OK" and body:
            response = enrich_pb2.EnrichResponse()
            response.ParseFromString(body)
            for event in response.events:
                budget = any("per-event limit" in mapping.error for mapping in event.mappings)
                key = "events stopped by the condition budget" if budget else "events evaluated"
                seen[key] = seen.get(key, 0) + 1
        else:
            seen[code] = seen.get(code, 0) + 1
    conn.close()


def preauth_header(args, stop_at, seen):
    """A request whose header claims 8 MiB (a million metadata entries), no token, reconnecting each time."""
    entry = b"\x22\x06\x0a\x01k\x12\x01v"  # metadata { key: "k" value: "v" }
    header = b"\x0a\x17enrich.v1.Enrich/Lookup" + entry * ((8 << 20) // len(entry) - 16)
    frame = request_frame(1, "", b"", header_bytes=header)
    while time.time() < stop_at:
        try:
            conn = Connection(args)
            conn.sock.settimeout(5)
            conn.send(frame[:128 << 10])  # the server answers after the header's length, before the rest
            code = "closed"
            for kind, rid, payload in conn.frames():
                if kind == STATUS and rid == 1:
                    status = rpc_pb2.Status()
                    status.ParseFromString(payload)
                    code = CODES[status.code]
            seen[code] = seen.get(code, 0) + 1
            conn.close()
        except (ConnectionError, OSError) as error:
            seen[type(error).__name__] = seen.get(type(error).__name__, 0) + 1


def preauth_frames(args, stop_at, seen):
    """8 MiB Enrich frames with a bad token, reconnecting each time."""
    frame = request_frame(1, "enrich.v1.Enrich/Enrich", b"\x22" + b"\xff\xff\xff\x03" + b"x" * ((8 << 20) - 64), "enr_not_a_token")
    while time.time() < stop_at:
        try:
            conn = Connection(args)
            conn.sock.settimeout(5)
            conn.send(frame[:256 << 10])
            code = "closed"
            for kind, rid, payload in conn.frames():
                if kind == STATUS and rid == 1:
                    status = rpc_pb2.Status()
                    status.ParseFromString(payload)
                    code = CODES[status.code]
            seen[code] = seen.get(code, 0) + 1
            conn.close()
        except (ConnectionError, OSError) as error:
            seen[type(error).__name__] = seen.get(type(error).__name__, 0) + 1


def slowloris(args, stop_at, seen):
    """50 connections, each sending 5 bytes of a frame header and nothing more; reopened when closed."""
    conns = []
    while time.time() < stop_at:
        while len(conns) < 50:
            try:
                conn = Connection(args)
                conn.send(HEADER.pack(100, REQUEST, 1)[:5])
                conn.sock.settimeout(0.01)
                conns.append(conn)
            except OSError:
                seen["connect failed"] = seen.get("connect failed", 0) + 1
                time.sleep(0.1)
        time.sleep(0.5)
        alive = []
        for conn in conns:
            try:
                data = conn.sock.recv(4096)
                if not data:
                    seen["closed by the server"] = seen.get("closed by the server", 0) + 1
                    conn.close()
                    continue
                seen["closed by the server"] = seen.get("closed by the server", 0) + 1  # a STATUS then close
                conn.close()
            except (socket.timeout, ssl.SSLWantReadError):
                alive.append(conn)
            except OSError:
                seen["closed by the server"] = seen.get("closed by the server", 0) + 1
                conn.close()
        conns = alive
    for conn in conns:
        conn.close()


def pool_flood(args, stop_at, seen):
    """64 pool calls (ListSyncRuns) kept in flight on one connection."""
    conn = Connection(args)
    message = sync_pb2.ListSyncRunsRequest(model="products", limit=1000).SerializeToString()
    rid = 0
    for _ in range(64):
        rid += 1
        conn.send(request_frame(rid, "enrich.v1.Sync/ListSyncRuns", message, args.token))
    while time.time() < stop_at:
        for kind, _, payload in conn.frames():
            if kind != STATUS:
                continue
            status = rpc_pb2.Status()
            status.ParseFromString(payload)
            seen[CODES[status.code]] = seen.get(CODES[status.code], 0) + 1
            rid += 1
            conn.send(request_frame(rid, "enrich.v1.Sync/ListSyncRuns", message, args.token))
    conn.close()


HOSTILE = {
    "never-reading": never_reading,
    "heavy-conditions": heavy_conditions,
    "preauth-header": preauth_header,
    "preauth-frames": preauth_frames,
    "slowloris": slowloris,
    "pool-flood": pool_flood,
}
LIMITS = {
    "baseline": "-",
    "never-reading": "maxConnectionOutboundBytes, 4 MiB per client (reading stops)",
    "heavy-conditions": "inlineSliceBudget + condition budget",
    "preauth-header": "maxRequestHeaderBytes (refused at the header)",
    "preauth-frames": "token checked at the header of a large frame",
    "slowloris": "partialFrameTimeout",
    "pool-flood": "maxPoolCallsPerConnection",
}


def run_hostile(name, args, stop_at, queue):
    # Hostile clients stand for machines elsewhere: at low priority they use the CPU the server leaves, instead
    # of taking it from the server and the prober (--equal-priority measures that too).
    if not args.equal_priority:
        os.nice(15)
    seen = {}
    try:
        HOSTILE[name](args, stop_at, seen)
    except Exception as error:  # noqa: BLE001 - a hostile client's own failure is part of what it saw
        seen[f"client error {type(error).__name__}"] = seen.get(f"client error {type(error).__name__}", 0) + 1
    queue.put(seen)


# MARK: - The prober

def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def probe(args, stop_at, result):
    health = rpc_pb2.RequestHeader(method="enrich.v1.Health/Check").SerializeToString()
    message = b""
    persistent = Connection(args)
    kept, fresh, failures = [], [], 0
    rid = 0
    next_fresh = time.time()
    while time.time() < stop_at:
        rid += 1
        start = time.perf_counter()
        try:
            code, _ = persistent.call(rid, "enrich.v1.Health/Check", message)
            if code == "OK":
                kept.append((time.perf_counter() - start) * 1000)
            else:
                failures += 1
        except OSError:
            failures += 1
            persistent = Connection(args)
        if time.time() >= next_fresh:
            next_fresh = time.time() + 0.05
            start = time.perf_counter()
            try:
                conn = Connection(args)
                code, _ = conn.call(1, "enrich.v1.Health/Check", message)
                if code == "OK":
                    fresh.append((time.perf_counter() - start) * 1000)
                else:
                    failures += 1
                conn.close()
            except OSError:
                failures += 1
        time.sleep(0.01)
    result.update(kept=kept, fresh=fresh, failures=failures)
    persistent.close()
    del health


# MARK: - Server control

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metric(args, name):
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{args.metrics_port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.split()[-1])
    return None


def start_server(args):
    log = open(os.path.join(args.work, "enrichd.log"), "a")
    process = subprocess.Popen(
        [os.path.join(args.bin, "enrichd"), "serve", "--port", str(args.port), "--metrics-port", str(args.metrics_port),
         "--data-dir", os.path.join(args.work, "data"), "--tls-cert", os.path.join(args.work, "certs", "server.pem"),
         "--tls-key", os.path.join(args.work, "certs", "server-key.pem"), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=log, env=dict(os.environ, ENRICH_BOOTSTRAP_TOKEN=args.token))
    line = process.stdout.readline().decode()
    if "listening" not in line:
        raise RuntimeError("enrichd did not start: " + line)
    # Wait for the persisted snapshot to be served.
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = Connection(args)
            code, body = conn.call(1, "enrich.v1.Health/Check", b"")
            conn.close()
            response = admin_pb2.HealthCheckResponse()
            response.ParseFromString(body or b"")
            if response.models_loaded >= 1:
                break
        except OSError:
            pass
        time.sleep(0.2)
    return process


def run_case(args, name):
    server = start_server(args)
    time.sleep(1)
    rss_before = rss_kib(server.pid)
    duration = args.never_reading_seconds if name == "never-reading" else args.duration
    stop_at = time.time() + duration
    queue = multiprocessing.Queue()
    hostile = []
    if name in HOSTILE:
        hostile = [multiprocessing.Process(target=run_hostile, args=(name, args, stop_at, queue)) for _ in range(4)]
    elif name == "all-at-once":
        hostile = [multiprocessing.Process(target=run_hostile, args=(kind, args, stop_at, queue)) for kind in HOSTILE]
    for process in hostile:
        process.start()
    time.sleep(min(2, duration / 4))  # let the attack reach its stride before measuring
    manager = multiprocessing.Manager()
    result = manager.dict()
    prober = multiprocessing.Process(target=probe_into, args=(args, stop_at, result))
    prober.start()
    peak = rss_before
    while time.time() < stop_at:
        peak = max(peak, rss_kib(server.pid))
        time.sleep(0.25)
    prober.join(30)
    seen = {}
    for process in hostile:
        process.join(30)
        if process.is_alive():
            process.kill()
    while not queue.empty():
        for key, value in queue.get().items():
            seen[key] = seen.get(key, 0) + value
    rss_after = rss_kib(server.pid)
    slice_max = metric(args, "enrich_loop_slice_max_seconds")
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
    kept, fresh = list(result.get("kept", [])), list(result.get("fresh", []))
    return {
        "case": name, "limit": LIMITS.get(name, "all of the above"), "seen": seen,
        "kept_p50": percentile(kept, 50), "kept_p99": percentile(kept, 99), "kept_n": len(kept),
        "fresh_p50": percentile(fresh, 50), "fresh_p99": percentile(fresh, 99), "fresh_n": len(fresh),
        "probe_failures": result.get("failures", 0), "rss_before_mib": rss_before / 1024, "rss_after_mib": rss_after / 1024,
        "rss_peak_mib": peak / 1024, "slice_max_ms": (slice_max or 0) * 1000, "seconds": duration,
    }


def probe_into(args, stop_at, result):
    if not args.equal_priority:
        try:
            os.nice(-5)  # the well-behaved client is not starved by the hostile ones sharing its machine
        except PermissionError:
            pass
    local = {}
    probe(args, stop_at, local)
    result.update(local)


def sigterm_under_load(args):
    """enrich-load at 64 calls in flight; SIGTERM to enrichd after 2 s. Every call sent must get a status."""
    server = start_server(args)
    load = subprocess.Popen(
        [os.path.join(args.bin, "enrich-load"), "--server", f"127.0.0.1:{args.port}", "--ca-file", args.ca,
         "--batch", "10", "--concurrency", "64", "--connections", "8", "--requests", "10000000", "--duration", "6",
         "--columns", args.columns, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, ENRICH_TOKEN=args.token))
    time.sleep(2)
    stopped_at = time.time()
    server.send_signal(signal.SIGTERM)
    server.wait(60)
    stop_seconds = time.time() - stopped_at
    out, err = load.communicate(timeout=120)
    try:
        report = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        report = {"error": (out + err).decode()[-500:]}
    return {"stop_seconds": stop_seconds, "report": report}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--columns", default="name,category,brand,price,in_stock,rating,weight_grams,created_at")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--never-reading-seconds", type=float, default=60)
    parser.add_argument("--cases", default="baseline,never-reading,heavy-conditions,preauth-header,preauth-frames,slowloris,pool-flood,all-at-once")
    parser.add_argument("--out")
    parser.add_argument("--equal-priority", action="store_true",
                        help="run hostile clients and the prober at the server's priority (they share its two cores)")
    args = parser.parse_args()
    results = []
    for name in args.cases.split(","):
        print(f"case {name}...", file=sys.stderr, flush=True)
        results.append(run_case(args, name))
    print("case sigterm-under-load...", file=sys.stderr, flush=True)
    sigterm = sigterm_under_load(args)

    lines = [("Hostile clients at nice 15, the prober at nice -5: they stand for clients on other machines, so the "
              "hostile ones use CPU the server leaves instead of the server's and the prober's."
              if not args.equal_priority else "Hostile clients, prober and server at equal priority on the same two cores."),
             "",
             "| case | limit hit (what the hostile clients saw) | Health p50/p99, open connection (ms) | Health p50/p99, fresh connection (ms) | RSS before -> after (peak) MiB | longest slice (ms) | verdict |",
             "|---|---|---|---|---|---|---|"]
    failed = False
    for r in results:
        verdict = []
        if r["fresh_p99"] > 10:
            verdict.append("fresh p99 > 10 ms")
        if r["case"] == "never-reading" and (r["rss_peak_mib"] - r["rss_before_mib"]) / 4 > 4:
            verdict.append("RSS grew more than the 4 MiB output limit per never-reading client")
        if r["slice_max_ms"] > 2:
            verdict.append("a slice held a loop > 2 ms")
        if r["probe_failures"]:
            verdict.append(f"{r['probe_failures']} probe failures")
        failed |= bool(verdict)
        seen = ", ".join(f"{k}: {v}" for k, v in sorted(r["seen"].items())) or "-"
        lines.append(f"| {r['case']} | {r['limit']}: {seen} | {r['kept_p50']:.2f} / {r['kept_p99']:.2f} (n={r['kept_n']}) | "
                     f"{r['fresh_p50']:.2f} / {r['fresh_p99']:.2f} (n={r['fresh_n']}) | "
                     f"{r['rss_before_mib']:.0f} -> {r['rss_after_mib']:.0f} ({r['rss_peak_mib']:.0f}) | {r['slice_max_ms']:.2f} | "
                     f"{'PASS' if not verdict else 'FAIL: ' + '; '.join(verdict)} |")
    report = sigterm["report"]
    lost = report.get("lost", -1)
    failed |= lost != 0
    lines.append("")
    lines.append(f"SIGTERM under enrich-load (64 in flight, 8 connections): drained and exited in {sigterm['stop_seconds']:.2f} s; "
                 f"calls answered OK {report.get('calls', '?')}, failures {json.dumps(report.get('failures', report))}, "
                 f"calls without a STATUS: {lost} -> {'PASS' if lost == 0 else 'FAIL'}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as out:
            out.write(text + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
