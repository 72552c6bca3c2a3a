"""The synchronous client: one TLS connection shared by any number of threads, with calls multiplexed by
request id and answered in any order."""
import queue
import select
import socket
import ssl
import threading
import time

from . import api, wire
from .errors import GOAWAY_KEY, DeadlineExceeded, EnrichError, StatusCode, Unavailable, connection_failed, error_for
from .methods import Methods


def make_ssl_context(ca_file=None, cadata=None):
    """TLS 1.2 or newer, verifying the server against ``ca_file`` (or PEM text in ``cadata``)."""
    context = ssl.create_default_context(cafile=ca_file, cadata=cadata)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class Client(Methods):
    """A connection to enrichd.

    >>> client = Client("127.0.0.1", 7443, ca_file="certs/ca.pem", token="...")
    >>> client.lookup("users", [1, 2], columns=["plan"])

    A dropped connection fails the calls in flight with :class:`~enrich_client.Unavailable`; the next call
    reconnects. When the server drains (docs/PROTOCOL.md, "Draining"), calls in flight finish on the old
    connection, new ones go to a new connection, and a call the server refused unstarted is sent again there.
    ``timeout`` (seconds) is every call's default deadline.
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
        self._lock = threading.Lock()
        self._socket = None
        self._pending = {}
        self._next_id = 0
        self._connection_error = None
        self._connections = set()

    # Connection
    #
    # One I/O thread per connection owns the socket: OpenSSL objects must not be read and written from two
    # threads at once. Callers queue frames under the lock and wake the I/O thread through a socket pair.

    def _connect_locked(self):
        raw = None
        try:
            raw = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = self._context.wrap_socket(raw, server_hostname=self.server_name) if self._context else raw
        except OSError as error:  # ssl.SSLError and socket errors
            if raw is not None:
                raw.close()
            raise connection_failed(error, self.host, self.port, self._ca_file, self.server_name,
                                    self.connect_timeout) from error
        sock.setblocking(False)
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        connection = _Connection(sock, wake_write)
        self._socket = connection
        self._connections.add(connection)
        self._connection_error = None
        threading.Thread(target=self._io_loop, args=(connection, wake_read), daemon=True,
                         name="enrich-client-io").start()

    def _io_loop(self, connection, wake_read):
        frames = wire.FrameBuffer()
        sock = connection.sock
        error = None
        try:
            while not connection.closed:
                with self._lock:
                    outbound = bytes(connection.outbound)
                readable, writable, _ = select.select([sock, wake_read], [sock] if outbound else [], [], 1.0)
                if wake_read in readable:
                    try:
                        wake_read.recv(4096)
                    except BlockingIOError:
                        pass
                if outbound and (sock in writable or not readable):
                    sent = self._send_some(sock, outbound)
                    with self._lock:
                        del connection.outbound[:sent]
                if sock in readable or (hasattr(sock, "pending") and sock.pending()):
                    if not self._read_available(sock, frames):
                        break
        except (OSError, ValueError) as exc:
            error = exc
        with self._lock:
            self._connections.discard(connection)
            if self._socket is connection:
                self._socket = None
            failed = {rid: w for rid, w in self._pending.items() if w[0] is connection}
            for rid in failed:
                del self._pending[rid]
            failure = self._connection_error or Unavailable(
                StatusCode.UNAVAILABLE, f"connection closed by the server{': ' + str(error) if error else ''}")
        for _, waiter in failed.values():
            waiter.put(("error", failure))
        for closable in (sock, wake_read, connection.wake_write):
            try:
                closable.close()
            except OSError:
                pass

    def _connection_of(self, sock):
        with self._lock:
            for connection in list(self._connections):
                if connection.sock is sock:
                    return connection
        return None

    @staticmethod
    def _send_some(sock, data):
        try:
            return sock.send(data)
        except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
            return 0

    def _read_available(self, sock, frames):
        """Reads until the socket has nothing more; False at end of stream."""
        while True:
            try:
                data = sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return True
            except ssl.SSLZeroReturnError:
                return False
            if not data:
                return False
            for kind, request_id, payload in frames.feed(data):
                self._dispatch(kind, request_id, payload, self._connection_of(sock))

    def _dispatch(self, kind, request_id, payload, connection=None):
        if kind == wire.KIND_STATUS and request_id == 0:
            status = wire.decode_status(payload)
            metadata = {entry.key: entry.value for entry in status.metadata}
            if GOAWAY_KEY in metadata:
                # Draining: answers to calls in flight still come; new calls go to a new connection, and this
                # one closes once its last answer is in.
                with self._lock:
                    if connection is not None:
                        connection.draining = True
                        if self._socket is connection:
                            self._socket = None
                        if not any(w[0] is connection for w in self._pending.values()):
                            connection.closed = True
                            connection.wake()
                return
            self._connection_error = error_for(status.code, status.message, metadata)
            return
        with self._lock:
            entry = self._pending.get(request_id)
            if entry is not None and kind == wire.KIND_STATUS:
                del self._pending[request_id]
                owner = entry[0]
                if owner.draining and not any(w[0] is owner for w in self._pending.values()):
                    owner.closed = True
                    owner.wake()
        if entry is None:
            return
        if kind == wire.KIND_MESSAGE:
            entry[1].put(("message", payload))
        elif kind == wire.KIND_STATUS:
            entry[1].put(("status", wire.decode_status(payload)))

    def _send_locked(self, data):
        if self._socket is None:
            self._connect_locked()
        self._socket.outbound += data
        self._socket.wake()

    def _start(self, call, timeout):
        timeout = self.timeout if timeout is None else timeout
        waiter = queue.Queue()
        with self._lock:
            if self._socket is None:
                try:
                    self._connect_locked()
                except OSError as exc:
                    raise Unavailable(StatusCode.UNAVAILABLE, f"cannot connect to {self.host}:{self.port}: {exc}") from exc
            self._next_id = self._next_id % 0xFFFFFFFF + 1
            request_id = self._next_id
            self._pending[request_id] = (self._socket, waiter)
            self._send_locked(wire.encode_request(request_id, call.method, call.request, self.token, timeout))
        return request_id, waiter, time.monotonic() + timeout + wire.DEADLINE_GRACE

    def _next(self, request_id, waiter, deadline):
        try:
            return waiter.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            with self._lock:
                self._pending.pop(request_id, None)
                if self._socket is not None:
                    self._send_locked(wire.encode_cancel(request_id))
            raise DeadlineExceeded(StatusCode.DEADLINE_EXCEEDED, "deadline exceeded") from None

    def _invoke(self, call, timeout=None):
        for attempt in range(wire.MAX_RESENDS + 1):
            try:
                return self._invoke_once(call, timeout)
            except EnrichError as error:
                if not error.never_started or attempt == wire.MAX_RESENDS:
                    raise
                time.sleep(min(0.05 * (2 ** attempt), 1.0))

    def _invoke_once(self, call, timeout=None):
        request_id, waiter, deadline = self._start(call, timeout)
        body = b""
        while True:
            kind, value = self._next(request_id, waiter, deadline)
            if kind == "message":
                body = value
            elif kind == "error":
                raise value
            else:
                api.check(value)
                return api.response(call, body)

    def _stream(self, call, timeout=None):
        request_id, waiter, deadline = self._start(call, timeout)
        while True:
            kind, value = self._next(request_id, waiter, deadline)
            if kind == "message":
                yield api.response(call, value)
            elif kind == "error":
                raise value
            else:
                api.check(value)
                return

    def _send_raw(self, data):
        """Sends bytes as they are (for tests of the server's protocol checks)."""
        with self._lock:
            self._send_locked(data)

    def close(self):
        """Closes the connection; calls in flight fail with Unavailable."""
        with self._lock:
            connection, self._socket = self._socket, None
        if connection is not None:
            connection.closed = True
            connection.wake()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Connection:
    """A socket, the frames waiting to be written to it, and the way to wake its I/O thread."""

    def __init__(self, sock, wake_write):
        self.sock = sock
        self.wake_write = wake_write
        self.outbound = bytearray()
        self.closed = False
        self.draining = False

    def wake(self):
        try:
            self.wake_write.send(b"x")
        except OSError:
            pass
