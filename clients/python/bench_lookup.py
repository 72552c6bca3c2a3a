#!/usr/bin/env python3
"""Lookup throughput of the Python client: batches of keys on one connection, one call at a time.

Usage: bench_lookup.py --port 7443 --ca-file certs/ca.pem [--requests 2000] [--batch 100]
Targets 127.0.0.1 only. Prints calls/s, keys/s and latency percentiles.
"""
import argparse
import random
import time

from enrich_client import Client

COLUMNS = ["name", "category", "brand", "price", "in_stock", "rating", "weight_grams", "created_at"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=7443)
    parser.add_argument("--ca-file", default="certs/ca.pem")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--key-max", type=int, default=1_000_000)
    args = parser.parse_args()
    if not 1 <= args.requests <= 1_000_000:
        parser.error("--requests must be 1...1000000")
    rng = random.Random(1)
    latencies = []
    with Client("127.0.0.1", args.port, ca_file=args.ca_file) as client:
        client.health()
        start = time.perf_counter()
        for _ in range(args.requests):
            keys = ["SKU-%07d" % rng.randint(1, args.key_max) for _ in range(args.batch)]
            began = time.perf_counter()
            client.lookup("products", keys, columns=COLUMNS)
            latencies.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"python lookup, batch {args.batch}, 1 connection, 1 in flight")
    print(f"throughput  {args.requests / elapsed:.0f} calls/s  {args.requests * args.batch / elapsed:.0f} keys/s")
    print(f"latency ms  p50 {pick(0.5):.3f}  p90 {pick(0.9):.3f}  p99 {pick(0.99):.3f}  max {latencies[-1] * 1000:.3f}")


if __name__ == "__main__":
    main()
