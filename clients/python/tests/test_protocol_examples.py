"""docs/PROTOCOL.md's worked example, decoded and encoded by this client, byte for byte."""
import os
import re

from enrich_client import wire
from enrich_client.proto import admin_pb2

from conftest import ROOT


def example_frames():
    text = open(os.path.join(ROOT, "docs", "PROTOCOL.md")).read()
    block = text.split("## 8.")[1].split("```")[1]
    frames, label = {}, None
    for line in block.splitlines():
        tokens = line.split()
        if tokens and tokens[0] in ("REQUEST", "MESSAGE", "STATUS"):
            label, tokens = tokens[0], tokens[1:]
        for token in tokens:
            if not re.fullmatch(r"[0-9a-f]{2}", token):
                break
            frames.setdefault(label, bytearray()).append(int(token, 16))
    return frames


def test_request_encodes_as_documented():
    frames = example_frames()
    assert wire.encode_request(1, "enrich.v1.Health/Check", admin_pb2.HealthCheckRequest()) == bytes(frames["REQUEST"])


def test_response_decodes_as_documented():
    frames = example_frames()
    buffer = wire.FrameBuffer()
    decoded = buffer.feed(bytes(frames["MESSAGE"]) + bytes(frames["STATUS"]))
    assert [(kind, request_id) for kind, request_id, _ in decoded] == [(wire.KIND_MESSAGE, 1), (wire.KIND_STATUS, 1)]
    response = admin_pb2.HealthCheckResponse()
    response.ParseFromString(decoded[0][2])
    assert (response.status, response.version, response.models_loaded) == ("SERVING", "0.1.0", 0)
    assert wire.decode_status(decoded[1][2]).code == 0


def test_frames_split_anywhere_decode_the_same():
    frames = example_frames()
    stream = bytes(frames["MESSAGE"]) + bytes(frames["STATUS"])
    buffer = wire.FrameBuffer()
    decoded = []
    for byte in stream:
        decoded += buffer.feed(bytes([byte]))
    assert len(decoded) == 2
