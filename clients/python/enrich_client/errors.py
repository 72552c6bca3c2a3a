"""Typed errors carrying the server's status code and message."""
from enum import IntEnum


class StatusCode(IntEnum):
    """gRPC status code numbers, as the wire protocol uses them."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class EnrichError(Exception):
    """A call ended with a status other than OK. ``code`` is a :class:`StatusCode`, ``message`` the server's text."""

    code = StatusCode.UNKNOWN

    def __init__(self, code, message, metadata=None):
        super().__init__(f"{StatusCode(code).name if code in StatusCode._value2member_map_ else code}: {message}")
        self.code = StatusCode(code) if code in StatusCode._value2member_map_ else code
        self.message = message
        #: The status's metadata as a dict (``enrich-goaway`` marks calls the server refused while draining).
        self.metadata = dict(metadata or {})

    @property
    def never_started(self):
        """True when the server refused the call unstarted because it is draining: sending it again on a new
        connection is safe (docs/PROTOCOL.md, "Draining")."""
        return self.metadata.get("enrich-goaway") == "draining"


class InvalidArgument(EnrichError):
    pass


class DeadlineExceeded(EnrichError):
    pass


class NotFound(EnrichError):
    pass


class AlreadyExists(EnrichError):
    pass


class PermissionDenied(EnrichError):
    pass


class ResourceExhausted(EnrichError):
    pass


class FailedPrecondition(EnrichError):
    pass


class Aborted(EnrichError):
    pass


class Unimplemented(EnrichError):
    pass


class Internal(EnrichError):
    pass


class Unavailable(EnrichError):
    pass


class Unauthenticated(EnrichError):
    pass


class Cancelled(EnrichError):
    pass


_BY_CODE = {
    StatusCode.CANCELLED: Cancelled,
    StatusCode.INVALID_ARGUMENT: InvalidArgument,
    StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    StatusCode.NOT_FOUND: NotFound,
    StatusCode.ALREADY_EXISTS: AlreadyExists,
    StatusCode.PERMISSION_DENIED: PermissionDenied,
    StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    StatusCode.ABORTED: Aborted,
    StatusCode.UNIMPLEMENTED: Unimplemented,
    StatusCode.INTERNAL: Internal,
    StatusCode.UNAVAILABLE: Unavailable,
    StatusCode.UNAUTHENTICATED: Unauthenticated,
}


def error_for(code, message, metadata=None):
    """The most specific error class for a status code."""
    return _BY_CODE.get(code, EnrichError)(code, message, metadata)


GOAWAY_KEY = "enrich-goaway"


class ConnectionFailed(Unavailable):
    """The client could not reach the server or agree on TLS with it. The message says what is wrong and what to
    change; the original exception is ``__cause__``."""


def connection_failed(error, host, port, ca_file=None, server_name=None, connect_timeout=None):
    """One plain line for a failure to connect (as the Swift SDK's ClientProblem and enrichctl say it)."""
    import socket
    import ssl

    address = f"{host}:{port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = (error.verify_message or str(error)).lower()
        if "mismatch" in reason:
            message = (f"the server's certificate is not for '{server_name or host}' — connect by a name it carries, "
                       "or pass server_name=")
        elif "expired" in reason:
            message = "the server's certificate has expired (or this machine's clock is wrong)"
        else:
            signed_by = f"signed by {ca_file}" if ca_file else "signed by a CA this client trusts"
            message = f"the server's certificate at {address} is not {signed_by} — pass ca_file= with the CA that signed it"
    elif isinstance(error, ssl.SSLError):
        reason = str(error).lower()
        if "certificate required" in reason or "handshake failure" in reason:
            message = "the server requires a client certificate"
        elif "wrong version number" in reason or "record layer failure" in reason or "packet length" in reason:
            message = f"{address} does not speak TLS — is it enrichd's RPC port? (insecure_plaintext=True only for a server run with --insecure-plaintext)"
        else:
            message = f"TLS with {address} failed: {getattr(error, 'reason', None) or error}"
    elif isinstance(error, ConnectionRefusedError):
        message = f"nothing listens on {address} — is enrichd running?"
    elif isinstance(error, socket.gaierror):
        message = f"cannot resolve '{host}'"
    elif isinstance(error, TimeoutError):
        within = f" within {connect_timeout:g} s" if connect_timeout else ""
        message = f"no answer from {address}{within} — a firewall, or the wrong address?"
    elif isinstance(error, OSError):
        message = f"cannot connect to {address}: {error.strerror or error}"
    else:
        message = f"cannot connect to {address}: {error}"
    failure = ConnectionFailed(StatusCode.UNAVAILABLE, message)
    failure.__cause__ = error
    return failure