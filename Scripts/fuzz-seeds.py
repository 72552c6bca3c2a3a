#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (Tests/Fuzz/corpus/<target>/) from Segment's vectors in
Tests/Fixtures/segment and from valid protocol messages. Run by hand when the vectors or the protocol change;
the seeds are committed. Usage: .venv/bin/python Scripts/fuzz-seeds.py"""
import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
from enrich_client.proto import admin_pb2, destinations_pb2, enrich_pb2, rpc_pb2, sync_pb2  # noqa: E402

VECTORS = os.path.join(ROOT, "Tests", "Fixtures", "segment")
CORPUS = os.path.join(ROOT, "Tests", "Fuzz", "corpus")
TOKEN = "enr_fuzz_owner_0123456789abcdef"


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, hashlib.sha1(data).hexdigest()[:16]), "wb") as out:
        out.write(data)


def load(name):
    with open(os.path.join(VECTORS, name)) as source:
        return json.load(source)


def liquid_templates(value, found):
    if isinstance(value, dict):
        if isinstance(value.get("@liquid"), str):
            found.append(value["@liquid"])
        for member in value.values():
            liquid_templates(member, found)
    elif isinstance(value, list):
        for element in value:
            liquid_templates(element, found)


def request_payload(method, message, token=TOKEN, metadata=None):
    header = rpc_pb2.RequestHeader(method=method)
    if token:
        header.authorization = "Bearer " + token
    for key, value in (metadata or {}).items():
        header.metadata.add(key=key, value=value)
    head = header.SerializeToString()
    return struct.pack(">I", len(head)) + head + message.SerializeToString()


def main():
    conditions = load("conditions.json")
    events = []
    for entry in conditions:
        write("fql", entry["condition"])
        if isinstance(entry.get("event"), dict):
            event = json.dumps(entry["event"])
            events.append(event)
            write("json", event)
            write("conditions", entry["condition"] + "\n" + event)
    for name in ("conditions_parse.json", "conditions_catalog.json"):
        for entry in load(name):
            if "condition" in entry:
                write("fql", entry["condition"])
    templates = []
    for entry in load("mapping.json"):
        write("mapping", json.dumps(entry["mapping"]))
        write("json", json.dumps(entry.get("payload", {})))
        liquid_templates(entry["mapping"], templates)
    for template in templates:
        write("liquid", template)
    for text in ['{"a":18446744073709551617,"b":1e400,"c":"\\ud800","d":[[[]]],"e":{"":null}}', " [ 1 , -0.0e-5 ] ", '"\\u00e9"']:
        write("json", text)
    for template in ['{% assign a = "x" %}{% assign a = a | append: a %}{{ a }}', "{{ t | split: \"\" | join: \"--\" }}",
                     "{% if a %}{% elsif b %}{% else %}{% endif %}", "{% capture c %}{{ a | upcase }}{% endcapture %}{{ c }}"]:
        write("liquid", template)

    lookup = enrich_pb2.LookupRequest(model="products", columns=["name", "price"], string_keys=["SKU-1", "SKU-2", "nope"])
    lookup_ints = enrich_pb2.LookupRequest(model="products", int_keys=[1, -2, 3])
    enrich = enrich_pb2.EnrichRequest(model="products", key_path="properties.sku",
                                      enrichments=[enrich_pb2.Enrichment(column="name", key="properties.name")],
                                      events=[e.encode() for e in events[:5]] + [b'{"properties":{"sku":"SKU-3"}}'])
    through = enrich_pb2.EnrichRequest(destination="d", events=[b'{"event":"Viewed","properties":{"sku":"SKU-4"}}'])
    header = rpc_pb2.RequestHeader(method="enrich.v1.Enrich/Lookup", authorization="Bearer x", timeout_ms=50)
    header.metadata.add(key="k", value="v")
    mapping = destinations_pb2.DestinationMapping(
        name="m", condition='event = "x"', matches=[destinations_pb2.ModelMatch(model="products", match_property="properties.sku")],
        enrichments=[destinations_pb2.ColumnEnrichment(model="products", column="name", key="properties.name")],
        fields_json='{"out":{"@path":"$.event"}}')
    messages = [lookup, enrich, header, destinations_pb2.CreateDestinationRequest(name="d2", mappings=[mapping]),
                admin_pb2.CreateModelRequest(name="m", table="t", primary_key="id"),
                destinations_pb2.TestMappingRequest(destination="d", mapping="m", event=b'{"event":"x"}'),
                admin_pb2.CreateWarehouseRequest(name="w", kind="postgres", connection="host=x", password="p"),
                rpc_pb2.Status(code=3, message="bad")]
    for selector, message in enumerate(messages):
        write("protobuf", bytes([selector]) + message.SerializeToString())
    write("protobuf", bytes([0]) + lookup_ints.SerializeToString())

    calls = [
        ("enrich.v1.Enrich/Lookup", lookup), ("enrich.v1.Enrich/Lookup", lookup_ints), ("enrich.v1.Enrich/Enrich", enrich),
        ("enrich.v1.Enrich/Enrich", through), ("enrich.v1.Health/Check", admin_pb2.HealthCheckRequest()),
        ("enrich.v1.Admin/ListModels", admin_pb2.ListModelsRequest(page_size=5)),
        ("enrich.v1.Admin/CreateModel", admin_pb2.CreateModelRequest(name="m2", table="nope", primary_key="id")),
        ("enrich.v1.Enrich/TestMapping", destinations_pb2.TestMappingRequest(destination="d", mapping="m", event=b'{"event":"Viewed"}')),
        ("enrich.v1.Sync/ListSyncRuns", sync_pb2.ListSyncRunsRequest(model="products")),
    ]
    for number, (method, message) in enumerate(calls, start=1):
        write("envelope", struct.pack("<I", number) + request_payload(method, message))
    write("envelope", struct.pack("<I", 9) + request_payload("enrich.v1.Enrich/Lookup", lookup, token="wrong"))
    write("envelope", struct.pack("<I", 10) + request_payload("enrich.v1.Nope/Nope", lookup, metadata={"a": "b"}))

    def frame(kind, request_id, payload):
        return struct.pack(">IBI", len(payload), kind, request_id) + payload
    write("frames", frame(1, 7, request_payload("enrich.v1.Health/Check", admin_pb2.HealthCheckRequest())))
    write("frames", frame(4, 7, b"") + frame(3, 0, b"\x08\x03"))
    write("frames", frame(1, 1, b"abc") + frame(2, 2, b"") + b"\x00\x00")
    for target in sorted(os.listdir(CORPUS)):
        directory = os.path.join(CORPUS, target)
        if os.path.isdir(directory):
            print(f"{target}: {len(os.listdir(directory))} seeds")


if __name__ == "__main__":
    main()
