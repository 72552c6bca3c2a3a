#!/usr/bin/env python3
"""Interop test: calls a running enrichd by following docs/PROTOCOL.md alone.

Uses only the standard library (ssl, socket, struct) and the `protobuf` package. Message classes are generated
from proto/ with protoc into a temporary directory at start-up.

Usage: ENRICH_TOKEN=... lookup_interop.py --port PORT --ca-file certs/ca.pem [--host 127.0.0.1]
The server must serve a synced model `products` keyed by sku (the demo data). Prints "N passed, N failed".
"""
import argparse
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KIND_REQUEST, KIND_MESSAGE, KIND_STATUS, KIND_CANCEL = 1, 2, 3, 4
TOKEN = os.environ.get("ENRICH_TOKEN", "")
HEADER = struct.Struct(">IBI")  # payload length, kind, request id


def load_messages():
    out = tempfile.mkdtemp(prefix="enrich-pb-")
    protos = sorted(os.path.join(ROOT, "proto", "enrich", "v1", name)
                    for name in os.listdir(os.path.join(ROOT, "proto", "enrich", "v1")))
    subprocess.run(["protoc", "--proto_path=" + os.path.join(ROOT, "proto"), "--python_out=" + out] + protos, check=True)
    for package in ("enrich", os.path.join("enrich", "v1")):
        open(os.path.join(out, package, "__init__.py"), "a").close()
    sys.path.insert(0, out)
    from enrich.v1 import admin_pb2, enrich_pb2, rpc_pb2  # noqa: E402
    return admin_pb2, enrich_pb2, rpc_pb2


admin_pb2, enrich_pb2, rpc_pb2 = load_messages()


class CallError(Exception):
    def __init__(self, code, message):
        super().__init__(f"status {code}: {message}")
        self.code = code
        self.message = message


class Connection:
    def __init__(self, host, port, ca_file):
        context = ssl.create_default_context(cafile=ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        raw = socket.create_connection((host, port), timeout=10)
        self.sock = context.wrap_socket(raw, server_hostname=host)
        self.buffer = b""
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send_request(self, method, message, request_id=None, timeout_ms=5000):
        if request_id is None:
            request_id = self.next_id
            self.next_id += 1
        header = rpc_pb2.RequestHeader(method=method, timeout_ms=timeout_ms,
                                       authorization="Bearer " + TOKEN if TOKEN else "").SerializeToString()
        payload = struct.pack(">I", len(header)) + header + message.SerializeToString()
        self.sock.sendall(HEADER.pack(len(payload), KIND_REQUEST, request_id) + payload)
        return request_id

    def read_frame(self):
        while len(self.buffer) < HEADER.size:
            self._fill()
        length, kind, request_id = HEADER.unpack(self.buffer[:HEADER.size])
        while len(self.buffer) < HEADER.size + length:
            self._fill()
        payload = self.buffer[HEADER.size:HEADER.size + length]
        self.buffer = self.buffer[HEADER.size + length:]
        return kind, request_id, payload

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def collect(self, ids):
        """Reads frames until every id in `ids` has its STATUS; returns {id: (message bytes, Status)}."""
        results, messages, order = {}, {}, []
        while len(results) < len(ids):
            kind, request_id, payload = self.read_frame()
            if kind == KIND_MESSAGE:
                messages[request_id] = payload
            elif kind == KIND_STATUS:
                status = rpc_pb2.Status()
                status.ParseFromString(payload)
                results[request_id] = (messages.get(request_id, b""), status)
                order.append(request_id)
        return results, order

    def call(self, method, request, response_type):
        request_id = self.send_request(method, request)
        results, _ = self.collect({request_id})
        body, status = results[request_id]
        if status.code != 0:
            raise CallError(status.code, status.message)
        response = response_type()
        response.ParseFromString(body)
        return response


def sku(number):
    return "SKU-%07d" % number


def test_health(conn):
    response = conn.call("enrich.v1.Health/Check", admin_pb2.HealthCheckRequest(), admin_pb2.HealthCheckResponse)
    assert response.status == "SERVING", response


def test_lookup(conn):
    request = enrich_pb2.LookupRequest(model="products", columns=["product_id", "name", "price", "rating"],
                                       string_keys=[sku(1), "SKU-nope", sku(42)])
    response = conn.call("enrich.v1.Enrich/Lookup", request, enrich_pb2.LookupResponse)
    assert list(response.found) == [True, False, True], response.found
    product_id = response.columns[0]
    assert product_id.name == "product_id" and product_id.type == 1
    assert list(product_id.int64_values) == [1, 0, 42], product_id.int64_values
    assert list(product_id.nulls) == [False, True, False]
    assert response.columns[1].string_values[2].endswith(" 42")
    assert response.columns[2].double_values[0] > 0


def test_many_in_flight(conn):
    ids = [conn.send_request("enrich.v1.Enrich/Lookup",
                             enrich_pb2.LookupRequest(model="products", columns=["product_id"], string_keys=[sku(n)]))
           for n in range(1, 51)]
    results, _ = conn.collect(set(ids))
    for offset, request_id in enumerate(ids):
        body, status = results[request_id]
        assert status.code == 0, status
        response = enrich_pb2.LookupResponse()
        response.ParseFromString(body)
        assert list(response.columns[0].int64_values) == [offset + 1]


def test_unknown_method(conn):
    try:
        conn.call("enrich.v1.Enrich/Nope", enrich_pb2.LookupRequest(), enrich_pb2.LookupResponse)
    except CallError as error:
        assert error.code == 12 and "unknown method" in error.message, error
    else:
        raise AssertionError("expected UNIMPLEMENTED")


def test_unknown_model(conn):
    try:
        conn.call("enrich.v1.Enrich/Lookup", enrich_pb2.LookupRequest(model="ghost", string_keys=["1"]),
                  enrich_pb2.LookupResponse)
    except CallError as error:
        assert error.code == 5 and error.message == "model 'ghost' does not exist", error
    else:
        raise AssertionError("expected NOT_FOUND")


def test_enrich(conn):
    event = b'{"type":"track","event":"Product Viewed","properties":{"sku":"SKU-0000007"}}'
    request = enrich_pb2.EnrichRequest(model="products", key_path="properties.sku",
                                       enrichments=[enrich_pb2.Enrichment(column="brand", key="properties.brand")],
                                       events=[event, b'{"properties":{}}'])
    response = conn.call("enrich.v1.Enrich/Enrich", request, enrich_pb2.EnrichResponse)
    assert response.events[0].outcome == 1 and b'"brand":' in response.events[0].event, response
    assert response.events[1].outcome == 3 and response.events[1].reason == 1, response


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", required=True)
    args = parser.parse_args()
    tests = [test_health, test_lookup, test_many_in_flight, test_unknown_method, test_unknown_model, test_enrich]
    passed = failed = 0
    for test in tests:
        conn = Connection(args.host, args.port, args.ca_file)
        try:
            test(conn)
            passed += 1
            print(f"ok   {test.__name__}")
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {test.__name__}")
            traceback.print_exc()
        finally:
            conn.close()
    print(f"interop: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
