"""Python client for enrichd: look up warehouse rows and enrich events over TLS.

The wire protocol is docs/PROTOCOL.md; :mod:`enrich_client.wire` implements its frame layer. Results are the
dataclasses in :mod:`enrich_client.types`; errors are the :class:`EnrichError` subclasses, one per status code.
"""
from .aio import AsyncClient
from .client import Client
from .errors import (
    Aborted, AlreadyExists, Cancelled, ConnectionFailed, DeadlineExceeded, EnrichError, FailedPrecondition, Internal,
    InvalidArgument,
    NotFound, PermissionDenied, ResourceExhausted, StatusCode, Unauthenticated, Unavailable, Unimplemented,
)
from .types import (
    AuditEvent, Column, ColumnType, CreatedToken, Destination, DestinationMapping, DestinationPage, DestinationStats,
    EnrichResult, Enrichment, EntityMatch, Health, MappingResult, Match, MissReason, Model, ModelPage, ModelSchedule,
    Outcome, RunIssue, RunIssues, SyncPhase, SyncRun, SyncStatus, Token, Warehouse,
)

__all__ = [
    "AsyncClient", "Client", "StatusCode", "EnrichError", "Aborted", "AlreadyExists", "Cancelled", "ConnectionFailed",
    "DeadlineExceeded", "FailedPrecondition", "Internal", "InvalidArgument", "NotFound", "PermissionDenied",
    "ResourceExhausted", "Unauthenticated", "Unavailable", "Unimplemented",
    "AuditEvent", "Column", "ColumnType", "CreatedToken", "Destination", "DestinationMapping", "DestinationPage",
    "DestinationStats", "EnrichResult", "Enrichment", "EntityMatch", "Health", "MappingResult", "Match",
    "MissReason", "Model", "ModelPage", "ModelSchedule", "Outcome", "RunIssue", "RunIssues", "SyncPhase", "SyncRun",
    "SyncStatus", "Token", "Warehouse",
]
__version__ = "1.0.0"
