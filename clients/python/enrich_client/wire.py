"""The frame layer of docs/PROTOCOL.md, shared by the synchronous and asyncio clients.

A frame is ``| payload length: u32 BE | kind: u8 | request id: u32 BE | payload |``. A REQUEST payload is
``| header length: u32 BE | RequestHeader | request message |``.
"""
import struct

from .proto import rpc_pb2

KIND_REQUEST = 1
KIND_MESSAGE = 2
KIND_STATUS = 3
KIND_CANCEL = 4

HEADER = struct.Struct(">IBI")
HEADER_BYTES = HEADER.size
#: Largest response payload accepted: the server's answer limit (32 MiB) and room for the envelope.
MAX_PAYLOAD_BYTES = 33 << 20
#: How long past a call's deadline the client still waits for the server's answer: a write answers the truth
#: (committed and OK, or not committed and DEADLINE_EXCEEDED), which a local timeout could not tell.
DEADLINE_GRACE = 0.2
#: Calls refused unstarted by a draining server are sent again on a new connection this many times.
MAX_RESENDS = 6


def encode_request(request_id, method, message, token=None, timeout=None, metadata=None):
    """A whole REQUEST frame for ``method`` carrying ``message`` (a protobuf message)."""
    header = rpc_pb2.RequestHeader(method=method)
    if token:
        header.authorization = "Bearer " + token
    if timeout is not None:
        header.timeout_ms = max(1, int(timeout * 1000))
    for key, value in (metadata or {}).items():
        header.metadata.add(key=key, value=value)
    header_bytes = header.SerializeToString()
    payload = struct.pack(">I", len(header_bytes)) + header_bytes + message.SerializeToString()
    return HEADER.pack(len(payload), KIND_REQUEST, request_id) + payload


def encode_cancel(request_id):
    return HEADER.pack(0, KIND_CANCEL, request_id)


def decode_status(payload):
    status = rpc_pb2.Status()
    status.ParseFromString(payload)
    return status


class FrameBuffer:
    """Accumulates bytes and yields whole frames as ``(kind, request_id, payload)``."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data):
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER_BYTES:
            length, kind, request_id = HEADER.unpack_from(self._buffer)
            if length > MAX_PAYLOAD_BYTES:
                raise ValueError(f"frame payload of {length} bytes exceeds {MAX_PAYLOAD_BYTES}")
            if len(self._buffer) < HEADER_BYTES + length:
                break
            payload = bytes(self._buffer[HEADER_BYTES:HEADER_BYTES + length])
            del self._buffer[:HEADER_BYTES + length]
            frames.append((kind, request_id, payload))
        return frames
