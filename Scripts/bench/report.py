"""Formats Scripts/bench.sh's measurements as a Markdown table with ratios (ours / Redis)."""
import csv
import io
import json
import platform
import subprocess
import sys
import time


def main() -> None:
    results, rows, raw, cache, redis_memory = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    ours, redis, postgres, enrich, redis2 = {}, {}, {}, {}, {}
    for line in open(results):
        kind = line.split(" ", 1)[0]
        if kind in ("ours", "redis", "postgres"):
            kind, batch, inflight, width, payload = line.split(" ", 4)
            key = (-int(width), int(batch), int(inflight))  # 8 columns first
        else:
            kind, batch, inflight, payload = line.split(" ", 3)
            key = (int(batch), int(inflight))
        if kind == "enrich":
            data = json.loads(payload)
            enrich[key] = (data["events_per_second"], data["p50_ms"], data["p99_ms"], data["errors"], data["enriched"], data["calls"] * int(batch))
            continue
        if kind == "redis2":
            fields = next(csv.reader(io.StringIO(payload.strip())), None)
            if fields and len(fields) >= 7:
                redis2[key] = float(fields[1])
            continue
        if kind == "postgres":
            parts = payload.split()
            if len(parts) == 2:
                postgres[key] = (float(parts[0]), float(parts[1]))
            continue
        if kind == "ours":
            data = json.loads(payload)
            ours[key] = (data["keys_per_second"], data["p50_ms"], data["p99_ms"], data["errors"])
        else:
            fields = next(csv.reader(io.StringIO(payload.strip())), None)
            # test, rps, avg, min, p50, p95, p99, max (ms); nothing when redis-benchmark failed or timed out.
            if fields and len(fields) >= 7:
                redis[key] = (float(fields[1]), float(fields[4]), float(fields[6]))
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    print(f"# Benchmarks\n")
    print(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.system()} {platform.machine()}, "
          f"{cores} cores ({cpu}), by `Scripts/bench.sh`: enrichd (release, TLS, 2 event loops) and Redis "
          f"{redis_version.removeprefix('v=')} (TLS port, same certificate) on 127.0.0.1, load generators on the same cores.\n")
    print("Workload: random keys out of 1,000,000 `products` rows, 8 (then 4) of 10 columns per key. Ours: `enrich-load` "
          "Lookup calls of B keys. Redis: `redis-benchmark` HMGET of the same 8 fields, pipelined B deep, so one "
          "pipeline is the counterpart of one call. Our latency is per call; Redis's is what redis-benchmark reports per "
          "command, which at batch > 1 is not a pipeline's round trip (compare throughput there). PostgreSQL: "
          "pgbench, one `SELECT ... WHERE sku = ANY(B random SKUs)` per transaction, prepared, over TLS "
          "(sslmode=verify-full, same certificate and CA), average latency per transaction.\n")
    print("| columns | batch | in flight | ours keys/s | Redis keys/s | ratio | ours p50 / p99 ms | Redis p50 / p99 ms | PostgreSQL keys/s (avg ms) | ratio |")
    print("|--------:|------:|----------:|------------:|-------------:|------:|------------------:|-------------------:|---------------------------:|------:|")
    for key in sorted(ours):
        o, r = ours[key], redis.get(key)
        p = postgres.get(key)
        pg = f"{p[0]:,.0f} ({p[1]:.3f}) | {o[0] / p[0]:.2f}x" if p and p[0] > 0 else "(no result) | —"
        errors = f" ({o[3]} errors)" if o[3] else ""
        if r is None:
            print(f"| {-key[0]} | {key[1]} | {key[2]} | {o[0]:,.0f}{errors} | (no result) | — | {o[1]:.3f} / {o[2]:.3f} | — | {pg} |")
            continue
        print(f"| {-key[0]} | {key[1]} | {key[2]} | {o[0]:,.0f}{errors} | {r[0]:,.0f} | {o[0] / r[0]:.2f}x | "
              f"{o[1]:.3f} / {o[2]:.3f} | {r[1]:.3f} / {r[2]:.3f} | {pg} |")
    print()
    if enrich:
        print("Enrich: `enrich-load --method enrich --destination bench`, batches of B JSON track events "
              "(`{\"type\":\"track\",\"event\":\"Product Viewed\",...,\"properties\":{\"sku\":...}}`) through one "
              "destination mapping: an FQL condition, a match on `properties.sku`, two enrichments (name, price). "
              "Events are read through a JSON tape and the enrichments spliced into their bytes (mappings without field "
              "mappings). enrich-load reads each answer with a streaming protobuf pass that checks the framing and counts "
              "every event's outcome (the SDK's decode into structs would spend the shared cores on the client). "
              "Redis: HMGET of the same two fields per event, pipelined B deep (the lookups alone, no JSON). "
              "Goal (issue 6): 500k events/s.\n")
        print("| batch | in flight | ours events/s | enriched | ours p50 / p99 ms | Redis HMGET keys/s | ratio | of 500k goal |")
        print("|------:|----------:|--------------:|---------:|------------------:|-------------------:|------:|-------------:|")
        for key in sorted(enrich):
            e, r = enrich[key], redis2.get(key)
            share = f"{e[4] / e[5] * 100:.0f} %" if e[5] else "—"
            errors = f" ({e[3]} errors)" if e[3] else ""
            ratio = f"{e[0] / r:.2f}x" if r else "—"
            redis_text = f"{r:,.0f}" if r else "(no result)"
            print(f"| {key[0]} | {key[1]} | {e[0]:,.0f}{errors} | {share} | {e[1]:.3f} / {e[2]:.3f} | {redis_text} | {ratio} | {e[0] / 500000 * 100:.0f} % |")
        print()
    print(f"Memory for {rows:,} rows: raw data {raw / 2**20:,.1f} MiB; enrichd cache {cache / 2**20:,.1f} MiB "
          f"({cache / raw:.2f}x raw); Redis used_memory {redis_memory / 2**20:,.1f} MiB ({redis_memory / raw:.2f}x raw, "
          f"{redis_memory / cache:.2f}x ours).")


if __name__ == "__main__":
    main()
