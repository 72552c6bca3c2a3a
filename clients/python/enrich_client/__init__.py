"""Python client for enrichd: look up warehouse rows and enrich events over TLS.

The wire protocol is docs/PROTOCOL.md; :mod:`enrich_client.wire` implements its frame layer.
"""
from .aio import AsyncClient
from .api import EnrichResult
from .client import Client
from .errors import (
    Aborted, AlreadyExists, Cancelled, DeadlineExceeded, EnrichError, FailedPrecondition, Internal, InvalidArgument,
    NotFound, PermissionDenied, ResourceExhausted, StatusCode, Unauthenticated, Unavailable, Unimplemented,
)

__all__ = [
    "AsyncClient", "Client", "EnrichResult", "StatusCode", "EnrichError", "Aborted", "AlreadyExists", "Cancelled",
    "DeadlineExceeded", "FailedPrecondition", "Internal", "InvalidArgument", "NotFound", "PermissionDenied",
    "ResourceExhausted", "Unauthenticated", "Unavailable", "Unimplemented",
]
__version__ = "0.1.0"
