"""Writes the demo `products` table as Redis hashes, in the Redis protocol, for `redis-cli --pipe`.

Key: p:<product_id - 1, 12 digits> (the form redis-benchmark's __rand_int__ produces), fields: every column.
Also prints the raw size of the data (strings' UTF-8 bytes, 8 per number or time, 1 per boolean) to stderr.
Usage: python3 redis_load.py WAREHOUSE.sqlite | redis-cli -p PORT --pipe
"""
import sqlite3
import sys

COLUMNS = ["sku", "product_id", "name", "category", "brand", "price", "in_stock", "rating", "weight_grams", "created_at"]
STRINGS = {"sku", "name", "category", "brand"}


def bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def main() -> None:
    connection = sqlite3.connect(sys.argv[1])
    out = sys.stdout.buffer
    raw = 0
    rows = 0
    chunk = []
    for row in connection.execute(f"SELECT {', '.join(COLUMNS)} FROM products"):
        parts = [bulk(b"HSET"), bulk(b"p:%012d" % (row[1] - 1))]
        fields = 0
        for name, value in zip(COLUMNS, row):
            if value is None:
                continue
            text = str(value).encode()
            parts.append(bulk(name.encode()))
            parts.append(bulk(text))
            fields += 1
            raw += len(text) if name in STRINGS else (1 if name == "in_stock" else 8)
        chunk.append(b"*%d\r\n" % (2 + 2 * fields) + b"".join(parts))
        rows += 1
        if len(chunk) == 10_000:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.flush()
    print(f"{rows} {raw}", file=sys.stderr)


if __name__ == "__main__":
    main()
