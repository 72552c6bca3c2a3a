"""The asyncio client: one TLS connection, calls multiplexed by request id and answered in any order."""
import asyncio
import ssl

from . import api, wire
from .client import make_ssl_context
from .errors import GOAWAY_KEY, DeadlineExceeded, EnrichError, StatusCode, Unavailable, connection_failed, error_for
from .methods import Methods


class AsyncClient(Methods):
    """An asyncio connection to enrichd. Use ``async with AsyncClient(...) as client:`` or call ``close()``.

    Every call is a coroutine (``watch_sync`` an async iterator). A dropped connection fails the calls in flight
    with :class:`~enrich_client.Unavailable`; the next call reconnects. When the server drains, calls in flight
    finish on the old connection, new ones go to a new one, and a call refused unstarted is sent again there.
    """

    def __init__(self, host="127.0.0.1", port=7443, *, ca_file=None, cadata=None, token=None, timeout=30.0,
                 connect_timeout=10.0, server_name=None, insecure_plaintext=False):
        self.host = host
        self.port = port
        self.token = token
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.server_name = server_name or host
        self._ca_file = ca_file
        self._context = None if insecure_plaintext else make_ssl_context(ca_file, cadata)
        self._writer = None
        self._reader_task = None
        self._pending = {}
        self._next_id = 0
        self._connect_lock = None
        self._connection_error = None
        self._draining = set()
        #: The connection (its writer) each call in flight was sent on.
        self._owners = {}

    async def _ensure_connected(self):
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._writer is not None and not self._writer.is_closing() and self._writer not in self._draining:
                return
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, ssl=self._context,
                                            server_hostname=self.server_name if self._context else None),
                    self.connect_timeout)
            except (OSError, asyncio.TimeoutError) as error:
                if isinstance(error, asyncio.TimeoutError) and not isinstance(error, TimeoutError):
                    error = TimeoutError(str(error))
                raise connection_failed(error, self.host, self.port, self._ca_file, self.server_name,
                                        self.connect_timeout) from error
            self._writer = writer
            self._connection_error = None
            self._reader_task = asyncio.get_running_loop().create_task(self._read_loop(reader, writer))

    async def _read_loop(self, reader, writer):
        frames = wire.FrameBuffer()
        error = None
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for kind, request_id, payload in frames.feed(data):
                    self._dispatch(kind, request_id, payload, writer)
        except (OSError, ValueError, asyncio.IncompleteReadError) as exc:
            error = exc
        if self._writer is writer:
            self._writer = None
        self._draining.discard(writer)
        owners = self._owners
        failed = [rid for rid, owner in owners.items() if owner is writer]
        failure = self._connection_error or Unavailable(
            StatusCode.UNAVAILABLE, f"connection closed by the server{': ' + str(error) if error else ''}")
        for rid in failed:
            owners.pop(rid, None)
            waiter = self._pending.pop(rid, None)
            if waiter is not None:
                waiter.put_nowait(("error", failure))
        writer.close()

    def _dispatch(self, kind, request_id, payload, writer=None):
        owners = self._owners
        if kind == wire.KIND_STATUS and request_id == 0:
            status = wire.decode_status(payload)
            metadata = {entry.key: entry.value for entry in status.metadata}
            if GOAWAY_KEY in metadata:
                # Draining: calls in flight finish here; new calls go to a new connection.
                self._draining.add(writer)
                if not any(owner is writer for owner in owners.values()):
                    writer.close()
                return
            self._connection_error = error_for(status.code, status.message, metadata)
            return
        waiter = self._pending.get(request_id)
        if waiter is None:
            return
        if kind == wire.KIND_MESSAGE:
            waiter.put_nowait(("message", payload))
        elif kind == wire.KIND_STATUS:
            del self._pending[request_id]
            owners.pop(request_id, None)
            waiter.put_nowait(("status", wire.decode_status(payload)))
            if writer in self._draining and not any(owner is writer for owner in owners.values()):
                writer.close()

    async def _start(self, call, timeout):
        timeout = self.timeout if timeout is None else timeout
        await self._ensure_connected()
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        request_id = self._next_id
        waiter = asyncio.Queue()
        self._pending[request_id] = waiter
        self._owners[request_id] = self._writer
        self._writer.write(wire.encode_request(request_id, call.method, call.request, self.token, timeout))
        return request_id, waiter, asyncio.get_running_loop().time() + timeout + wire.DEADLINE_GRACE

    async def _next(self, request_id, waiter, deadline):
        try:
            return await asyncio.wait_for(waiter.get(), max(0.0, deadline - asyncio.get_running_loop().time()))
        except asyncio.TimeoutError:
            self._pending.pop(request_id, None)
            if self._writer is not None and not self._writer.is_closing():
                self._writer.write(wire.encode_cancel(request_id))
            raise DeadlineExceeded(StatusCode.DEADLINE_EXCEEDED, "deadline exceeded") from None

    async def _invoke(self, call, timeout=None):
        for attempt in range(wire.MAX_RESENDS + 1):
            try:
                return await self._invoke_once(call, timeout)
            except EnrichError as error:
                if not error.never_started or attempt == wire.MAX_RESENDS:
                    raise
                await asyncio.sleep(min(0.05 * (2 ** attempt), 1.0))

    async def _invoke_once(self, call, timeout=None):
        request_id, waiter, deadline = await self._start(call, timeout)
        body = b""
        while True:
            kind, value = await self._next(request_id, waiter, deadline)
            if kind == "message":
                body = value
            elif kind == "error":
                raise value
            else:
                api.check(value)
                return api.response(call, body)

    async def _stream(self, call, timeout=None):
        request_id, waiter, deadline = await self._start(call, timeout)
        while True:
            kind, value = await self._next(request_id, waiter, deadline)
            if kind == "message":
                yield api.response(call, value)
            elif kind == "error":
                raise value
            else:
                api.check(value)
                return

    async def _send_raw(self, data):
        """Sends bytes as they are (for tests of the server's protocol checks)."""
        await self._ensure_connected()
        self._writer.write(data)

    async def close(self):
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except (OSError, ssl.SSLError):
                pass
        if self._reader_task is not None:
            await asyncio.gather(self._reader_task, return_exceptions=True)

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()
