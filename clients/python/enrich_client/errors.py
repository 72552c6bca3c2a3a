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
