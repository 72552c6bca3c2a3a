"""Formats Scripts/bench.sh's measurements as Markdown: throughput, latency and server CPU per key (or event) for
enrichd and Redis side by side, with ratios, and memory.

Input lines: KIND BATCH CONNECTIONS SERVER_CPU_SECONDS JSON, where KIND is lookup or enrich (enrichd-load's
JSON), lookup-sdk or enrich-sdk (enrich-load's JSON), redis-lookup or redis-enrich (redis-load's JSON).
Usage: report.py RESULTS ROWS RAW_BYTES CACHE_BYTES REDIS_USED_MEMORY REDIS_VERSION COMMIT
"""
import json
import platform
import subprocess
import sys
import time


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    results, rows, raw, cache, redis_memory, redis_version, commit = sys.argv[1:8]
    rows, raw, cache, redis_memory = int(rows), int(raw), int(cache), int(redis_memory)
    runs = {}
    for line in open(results):
        kind, batch, connections, cpu, payload = line.split(" ", 4)
        data = json.loads(payload)
        if kind in ("lookup", "lookup-sdk", "enrich", "enrich-sdk"):
            units = data["calls"] * int(batch)
            rate = data["events_per_second" if kind.startswith("enrich") else "keys_per_second"]
            extra = {"errors": data["errors"], "enriched": data.get("enriched", 0), "found": data.get("found")}
        else:
            units = data["commands"]
            rate = data["commands_per_second"]
            extra = {"nil": data["nil_replies"]}
        runs[(kind, int(batch), int(connections))] = {
            "rate": rate, "p50": data["p50_ms"], "p99": data["p99_ms"], "units": units,
            "cpu_us": float(cpu) * 1e6 / units if units else float("nan"), **extra,
        }

    cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print("# Benchmarks\n")
    print(
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.system()} {platform.machine()}, "
        f"{cores} cores ({cpu_model()}), by `Scripts/bench.sh` at commit {commit}: enrichd (release, TLS, one event "
        f"loop per core) and Redis {redis_version} (TLS port, same certificate, one thread) on 127.0.0.1, with the "
        "load generators on the same cores.\n"
    )
    print(
        "Both servers get the same batch and the same connections, one call (or one pipeline) in flight per "
        "connection, keys uniform over the 1,000,000 `products` rows, each server driven by a lean C client of the "
        "same shape (one thread, epoll, non-blocking OpenSSL). Ours: `Scripts/bench/enrichd-load.c`, Lookup calls of "
        "B keys, 8 of 10 columns, each answer checked (B found flags, status OK). Redis: `Scripts/bench/redis-load.c` "
        "keeping B pipelined `HMGET p:<key> <the same 8 fields>` in flight per connection. Latency is per call or per "
        "pipeline, from first byte sent to last byte read. **Server CPU** is the server process's user + system "
        "time (`/proc/PID/stat`) over the measurement divided by the keys (or events) served: throughput on this "
        "shared machine moves ±40 % between runs, CPU per unit of work far less.\n"
    )

    def table(title, kind, peer, unit, workloads):
        print(f"### {title}\n")
        print(f"| batch | connections | ours {unit}/s | Redis {unit}/s | ratio | ours CPU µs/{unit[:-1]} "
              f"| Redis CPU µs/{unit[:-1]} | Redis CPU / ours | ours p50 / p99 ms | Redis p50 / p99 ms |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for batch, connections in workloads:
            ours, theirs = runs.get((kind, batch, connections)), runs.get((peer, batch, connections))
            if not ours or not theirs:
                continue
            print(
                f"| {batch} | {connections} | {ours['rate']:,.0f} | {theirs['rate']:,.0f} | "
                f"{ours['rate'] / theirs['rate']:.2f}x | {ours['cpu_us']:.2f} | {theirs['cpu_us']:.2f} | "
                f"{theirs['cpu_us'] / ours['cpu_us']:.2f}x | {ours['p50']:.3f} / {ours['p99']:.3f} | "
                f"{theirs['p50']:.3f} / {theirs['p99']:.3f} |"
            )
        print()

    lookups = sorted({(b, c) for (k, b, c) in runs if k == "lookup"})
    enriches = sorted({(b, c) for (k, b, c) in runs if k == "enrich"})
    table("Lookup, 8 columns", "lookup", "redis-lookup", "keys", lookups)
    print(
        "Enrich: `enrichd-load enrich`, batches of B JSON track events through one destination mapping (an FQL "
        "condition, a match on `properties.sku`, two enrichments: name, price), read on a JSON tape with the "
        "enrichments spliced into the event's bytes; each answer is checked (B events, those enriched counted). "
        "Redis: the lookups alone, B pipelined `HMGET p:<key> name price` (no JSON).\n"
    )
    table("Enrich through a destination (goal: 500k events/s, ≤ 1.5 µs server CPU per event)", "enrich",
          "redis-enrich", "events", enriches)
    sdk = sorted({(k, b, c) for (k, b, c) in runs if k.endswith("-sdk")})
    if sdk:
        print("### Through the Swift SDK\n")
        print(
            "The same calls driven by `enrich-load` (the Swift SDK over NIO, each answer decoded into the SDK's "
            "types) instead of enrichd-load: what an application using the SDK sees, with the client's own cost on "
            "the same two cores.\n"
        )
        print("| method | batch | connections | per second: SDK / C client | server CPU µs per key or event: SDK / "
              "C client | p50 / p99 ms: SDK | p50 / p99 ms: C client |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for kind, batch, connections in sdk:
            mine, lean = runs[(kind, batch, connections)], runs.get((kind[:-4], batch, connections))
            if not lean:
                continue
            print(
                f"| {kind[:-4]} | {batch} | {connections} | {mine['rate']:,.0f} / {lean['rate']:,.0f} | "
                f"{mine['cpu_us']:.2f} / {lean['cpu_us']:.2f} | {mine['p50']:.3f} / {mine['p99']:.3f} | "
                f"{lean['p50']:.3f} / {lean['p99']:.3f} |"
            )
        print()
    problems = [f"{k} {b}x{c}: {r['errors']} errors" for (k, b, c), r in runs.items() if r.get("errors")]
    problems += [f"{k} {b}x{c}: {r['units'] - r['enriched']} events not enriched" for (k, b, c), r in runs.items()
                 if k.startswith("enrich") and r["enriched"] != r["units"]]
    problems += [f"{k} {b}x{c}: {r['units'] - r['found']} keys not found" for (k, b, c), r in runs.items()
                 if k == "lookup" and r["found"] != r["units"]]
    print("Every call answered, every key found and every event enriched." if not problems else "Problems: " + "; ".join(problems))
    nils = sum(r.get("nil", 0) for (k, _, _), r in runs.items() if k == "redis-lookup")
    fields = sum(r["units"] * 8 for (k, _, _), r in runs.items() if k == "redis-lookup")
    if fields:
        print(
            f"Redis answered nil for {nils:,} of {fields:,} fields ({100 * nils / fields:.1f} %): the NULL cells, which "
            "the loader does not store (ours answers them as NULL)."
        )
    mib = lambda n: n / (1 << 20)
    print(
        f"\nMemory for {rows:,} rows: raw data {mib(raw):.1f} MiB; enrichd cache {mib(cache):.1f} MiB "
        f"({cache / raw:.2f}x raw); Redis used_memory {mib(redis_memory):.1f} MiB ({redis_memory / raw:.2f}x raw, "
        f"{redis_memory / cache:.2f}x ours)."
    )


if __name__ == "__main__":
    main()
