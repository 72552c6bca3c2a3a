"""What the calls return: dataclasses with enums, ints and UTC datetimes, built from the protobuf messages.

Every enum is a ``str`` enum, so ``run.status == "success"`` and ``run.status is SyncStatus.SUCCESS`` both hold.
Times are timezone-aware ``datetime`` objects in UTC, or ``None`` where the server sends 0 (not set).
"""
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Dict, List, Optional

from .proto import admin_pb2, common_pb2, destinations_pb2, enrich_pb2, sync_pb2

__all__ = [
    "AuditEvent", "Column", "ColumnType", "CreatedToken", "Destination", "DestinationMapping", "DestinationStats",
    "EnrichResult", "Enrichment", "EntityMatch", "Health", "MappingResult", "Match", "MissReason", "Model",
    "ModelPage", "DestinationPage", "ModelSchedule", "Outcome", "RunIssue", "RunIssues", "SyncPhase", "SyncRun",
    "SyncStatus", "Token", "Warehouse",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def time_from_ms(milliseconds: int) -> Optional[datetime]:
    """A UTC datetime from milliseconds since the epoch; None for 0 (not set)."""
    return _EPOCH + timedelta(milliseconds=milliseconds) if milliseconds else None


def time_from_us(microseconds: int) -> datetime:
    """A UTC datetime from microseconds since the epoch (timestamp cells)."""
    return _EPOCH + timedelta(microseconds=microseconds)


def _json(data: bytes) -> Any:
    return json.loads(data) if data else None


def _enum(enum_type, prefix: str, value: int, names):
    """The member of ``enum_type`` named by the proto enum value (``SYNC_STATUS_IN_PROGRESS`` → IN_PROGRESS)."""
    name = names.Name(value)
    return enum_type[name[len(prefix):]] if name.startswith(prefix) else enum_type.UNSPECIFIED


class SyncStatus(str, Enum):
    UNSPECIFIED = "unspecified"
    IN_PROGRESS = "in_progress"
    SUCCESS = "success"
    PARTIAL_SUCCESS = "partial_success"
    FAILED = "failed"

    @classmethod
    def from_proto(cls, value: int) -> "SyncStatus":
        return _enum(cls, "SYNC_STATUS_", value, sync_pb2.SyncStatus)


class SyncPhase(str, Enum):
    UNSPECIFIED = "unspecified"
    EXTRACT = "extract"
    LOAD = "load"
    DONE = "done"

    @classmethod
    def from_proto(cls, value: int) -> "SyncPhase":
        return _enum(cls, "SYNC_PHASE_", value, sync_pb2.SyncPhase)


class Outcome(str, Enum):
    """How much an event was enriched, as Segment's delivery overview counts it."""

    UNSPECIFIED = "unspecified"
    ENRICHED = "enriched"
    PARTIALLY_ENRICHED = "partially_enriched"
    NOT_ENRICHED = "not_enriched"

    @classmethod
    def from_proto(cls, value: int) -> "Outcome":
        return _enum(cls, "ENRICH_OUTCOME_", value, common_pb2.EnrichOutcome)


class MissReason(str, Enum):
    """Why an event was not (fully) enriched; NONE when it was."""

    NONE = ""
    NO_KEY = "no_key"
    NOT_FOUND = "not_found"
    INVALID_EVENT = "invalid_event"
    NO_MAPPING_MATCHED = "no_mapping_matched"
    UNSPECIFIED = "unspecified"

    @classmethod
    def from_proto(cls, value: int) -> "MissReason":
        name = enrich_pb2.MissReason.Name(value)
        if name == "MISS_REASON_NONE" or name == "MISS_REASON_UNSPECIFIED":
            return cls.NONE
        return cls[name[len("MISS_REASON_"):]]


class ColumnType(str, Enum):
    UNSPECIFIED = "unspecified"
    INT64 = "int64"
    DOUBLE = "double"
    BOOL = "bool"
    STRING = "string"
    TIMESTAMP = "timestamp"

    @classmethod
    def from_proto(cls, value: int) -> "ColumnType":
        return _enum(cls, "COLUMN_TYPE_", value, common_pb2.ColumnType)


@dataclass
class Column:
    name: str
    type: ColumnType
    #: The warehouse's own type name (``TEXT``, ``timestamp with time zone``).
    source_type: str


@dataclass
class Model:
    """A model: its source, key and columns, the snapshot being served and its latest sync."""

    name: str
    warehouse: str
    table: str
    query: str
    primary_key: str
    columns: List[Column]
    created_at: Optional[datetime]
    version: int
    #: Rows in the snapshot being served (0 when none is loaded).
    cached_rows: int
    #: The run whose snapshot is served (0 when none) and when it finished.
    served_run_id: int
    served_at: Optional[datetime]
    last_run_id: int
    last_run_status: Optional[SyncStatus]
    last_run_finished_at: Optional[datetime]
    last_run_error: str

    @property
    def age(self) -> Optional[timedelta]:
        """How old the served data is, or None when nothing is served."""
        return datetime.now(timezone.utc) - self.served_at if self.served_at else None

    @classmethod
    def from_proto(cls, m: admin_pb2.Model) -> "Model":
        return cls(
            name=m.name, warehouse=m.warehouse, table=m.table, query=m.query, primary_key=m.primary_key,
            columns=[Column(c.name, ColumnType.from_proto(c.type), c.source_type) for c in m.columns],
            created_at=time_from_ms(m.created_at_ms), version=m.version, cached_rows=m.cached_rows,
            served_run_id=m.served_run_id, served_at=time_from_ms(m.served_at_ms), last_run_id=m.last_run_id,
            last_run_status=SyncStatus.from_proto(m.last_run_status) if m.last_run_id else None,
            last_run_finished_at=time_from_ms(m.last_run_finished_at_ms), last_run_error=m.last_run_error,
        )


@dataclass
class ModelPage:
    models: List[Model]
    #: Pass as ``page_token`` for the next page; empty on the last one.
    next_page_token: str


@dataclass
class SyncRun:
    id: int
    model: str
    status: SyncStatus
    #: The phase the run is in, or (when failed) the phase it failed in.
    phase: SyncPhase
    started_at: Optional[datetime]
    finished_at: Optional[datetime]
    rows_expected: int
    rows_read: int
    rows_added: int
    rows_changed: int
    rows_removed: int
    rows_failed: int
    error: str
    #: Whether ``cancel_sync`` stopped it.
    cancelled: bool

    @property
    def finished(self) -> bool:
        return self.status not in (SyncStatus.IN_PROGRESS, SyncStatus.UNSPECIFIED)

    @classmethod
    def from_proto(cls, m: sync_pb2.SyncRun) -> "SyncRun":
        return cls(
            id=m.id, model=m.model, status=SyncStatus.from_proto(m.status), phase=SyncPhase.from_proto(m.phase),
            started_at=time_from_ms(m.started_at_ms), finished_at=time_from_ms(m.finished_at_ms),
            rows_expected=m.rows_expected, rows_read=m.rows_read, rows_added=m.rows_added,
            rows_changed=m.rows_changed, rows_removed=m.rows_removed, rows_failed=m.rows_failed, error=m.error,
            cancelled=m.cancelled,
        )


@dataclass
class RunIssue:
    """A row a sync left out."""

    row_number: int
    #: The primary key as text; None when it was NULL.
    key: Optional[str]
    reason: str
    #: Syncs in a row that left this key out (0: not tracked).
    attempt: int
    given_up: bool


@dataclass
class RunIssues:
    run_id: int
    #: Rows the run left out in all; ``issues`` holds the first of them (at most 1,000).
    rows_failed: int
    issues: List[RunIssue]

    @classmethod
    def from_proto(cls, m: sync_pb2.ListRunIssuesResponse) -> "RunIssues":
        return cls(
            run_id=m.run_id, rows_failed=m.rows_failed,
            issues=[
                RunIssue(i.row_number, i.key if i.key_present else None, i.reason, i.attempt, i.given_up)
                for i in m.issues
            ],
        )


@dataclass
class ModelSchedule:
    model: str
    #: "manual", "every 1h", "daily 09:30 Europe/Paris", "cron */30 * * * *" ...
    schedule: str
    #: When the next scheduled sync is due; None for manual.
    next_run: Optional[datetime]

    @classmethod
    def from_proto(cls, m: sync_pb2.ModelSchedule) -> "ModelSchedule":
        return cls(m.model, m.schedule, time_from_ms(m.next_run_ms))


@dataclass
class Match:
    model: str
    #: Dotted event path holding the key (``userId``, ``properties.sku``).
    match_property: str


@dataclass
class Enrichment:
    model: str
    column: str
    #: Dotted event path the column's value is written to.
    key: str


@dataclass
class DestinationMapping:
    name: str
    #: Segment FQL; empty matches every event.
    condition: str = ""
    matches: List[Match] = field(default_factory=list)
    enrichments: List[Enrichment] = field(default_factory=list)
    #: Segment mapping-kit field mappings, or None to send the enriched event as is.
    fields: Optional[Dict[str, Any]] = None

    def to_proto(self) -> destinations_pb2.DestinationMapping:
        message = destinations_pb2.DestinationMapping(name=self.name, condition=self.condition)
        for match in self.matches:
            message.matches.add(model=match.model, match_property=match.match_property)
        for enrichment in self.enrichments:
            message.enrichments.add(model=enrichment.model, column=enrichment.column, key=enrichment.key)
        if self.fields is not None:
            message.fields_json = json.dumps(self.fields)
        return message

    @classmethod
    def from_any(cls, value: "DestinationMapping | Dict[str, Any]") -> "DestinationMapping":
        """A mapping from itself or a dict with the same keys (``matches`` and ``enrichments`` as dicts too)."""
        if isinstance(value, DestinationMapping):
            return value
        return cls(
            name=value["name"], condition=value.get("condition", ""),
            matches=[m if isinstance(m, Match) else Match(**m) for m in value.get("matches", [])],
            enrichments=[e if isinstance(e, Enrichment) else Enrichment(**e) for e in value.get("enrichments", [])],
            fields=value.get("fields"),
        )

    @classmethod
    def from_proto(cls, m: destinations_pb2.DestinationMapping) -> "DestinationMapping":
        return cls(
            name=m.name, condition=m.condition, matches=[Match(x.model, x.match_property) for x in m.matches],
            enrichments=[Enrichment(x.model, x.column, x.key) for x in m.enrichments],
            fields=json.loads(m.fields_json) if m.fields_json else None,
        )


@dataclass
class DestinationStats:
    """Events seen since the destination was created, by outcome (kept across restarts)."""

    events: int
    enriched: int
    partially_enriched: int
    not_enriched: int
    unmatched: int


@dataclass
class Destination:
    name: str
    mappings: List[DestinationMapping]
    version: int
    created_at: Optional[datetime]
    stats: DestinationStats

    @classmethod
    def from_proto(cls, m: destinations_pb2.Destination) -> "Destination":
        s = m.stats
        return cls(
            name=m.name, mappings=[DestinationMapping.from_proto(x) for x in m.mappings], version=m.version,
            created_at=time_from_ms(m.created_at_ms),
            stats=DestinationStats(s.events, s.enriched, s.partially_enriched, s.not_enriched, s.unmatched),
        )


@dataclass
class DestinationPage:
    destinations: List[Destination]
    next_page_token: str


@dataclass
class EntityMatch:
    """One model's lookup for one event in a mapping."""

    model: str
    key_present: bool
    #: The key the model was matched by (also when found).
    key: str
    found: bool
    #: The row's columns, when found.
    row: Optional[Dict[str, Any]]


@dataclass
class MappingResult:
    """One matched mapping's result for one event (``test_mapping``, or each of ``EnrichResult.mappings``)."""

    mapping: str
    condition_matched: bool
    outcome: Outcome
    entities: List[EntityMatch]
    #: The event after the enrichments (without ``__segment_entities``).
    enriched_event: Optional[Dict[str, Any]]
    #: The mapping-kit output, or the enriched event when the mapping has no field mappings.
    output: Optional[Dict[str, Any]]
    #: A run-time mapping error (the call itself succeeded); empty when none.
    error: str

    @classmethod
    def from_proto(cls, m: destinations_pb2.MappingOutcome) -> "MappingResult":
        return cls(
            mapping=m.mapping, condition_matched=m.condition_matched, outcome=Outcome.from_proto(m.outcome),
            entities=[EntityMatch(e.model, e.key_present, e.key, e.found, _json(e.row_json)) for e in m.entities],
            enriched_event=_json(m.enriched_event), output=_json(m.output), error=m.error,
        )


@dataclass
class EnrichResult:
    """One event's result."""

    outcome: Outcome
    #: Why the event was not (fully) enriched; ``MissReason.NONE`` when it was.
    reason: MissReason
    #: The event as returned (parsed); None when it is not JSON (``raw_event`` has its bytes).
    event: Optional[Dict[str, Any]]
    error: str = ""
    #: With a destination: each matched mapping's result.
    mappings: List[MappingResult] = field(default_factory=list)
    raw_event: bytes = b""

    @classmethod
    def from_proto(cls, m: enrich_pb2.EnrichedEvent) -> "EnrichResult":
        try:
            event = _json(m.event)
        except ValueError:
            event = None
        return cls(
            outcome=Outcome.from_proto(m.outcome), reason=MissReason.from_proto(m.reason), event=event,
            error=m.error, mappings=[MappingResult.from_proto(x) for x in m.mappings], raw_event=bytes(m.event),
        )


@dataclass
class Token:
    id: str
    name: str
    role: str
    created_at: Optional[datetime]
    expires_at: Optional[datetime]
    revoked_at: Optional[datetime]

    @classmethod
    def from_proto(cls, m: admin_pb2.Token) -> "Token":
        return cls(m.id, m.name, m.role, time_from_ms(m.created_at_ms), time_from_ms(m.expires_at_ms),
                   time_from_ms(m.revoked_at_ms))


@dataclass
class CreatedToken:
    token: Token
    #: The token itself ("enr_..."); shown this once.
    secret: str


@dataclass
class Warehouse:
    name: str
    #: "sqlite" or "postgres".
    kind: str
    #: With ``test=True``: whether it answered, and its version or why not.
    tested: bool
    reachable: bool
    detail: str
    connection: str
    has_password: bool
    builtin: bool
    created_at: Optional[datetime]
    version: int

    @classmethod
    def from_proto(cls, m: admin_pb2.WarehouseInfo) -> "Warehouse":
        return cls(m.name, m.kind, m.tested, m.reachable, m.detail, m.connection, m.has_password, m.builtin,
                   time_from_ms(m.created_at_ms), m.version)


@dataclass
class AuditEvent:
    id: int
    at: Optional[datetime]
    token_id: str
    token_name: str
    peer: str
    method: str
    object: str
    before: Optional[Dict[str, Any]]
    after: Optional[Dict[str, Any]]
    #: The call's status code (0 for OK) and message.
    outcome_code: int
    outcome_message: str

    @classmethod
    def from_proto(cls, m: admin_pb2.AuditEvent) -> "AuditEvent":
        return cls(m.id, time_from_ms(m.at_ms), m.token_id, m.token_name, m.peer, m.method, m.object,
                   _json(m.before_json.encode()), _json(m.after_json.encode()), m.outcome_code, m.outcome_message)


@dataclass
class Health:
    #: "SERVING" or "NOT_SERVING".
    status: str
    version: str
    models_loaded: int
    #: Why not ready, when not serving.
    reasons: List[str]

    @classmethod
    def from_proto(cls, m: admin_pb2.HealthCheckResponse) -> "Health":
        return cls(m.status, m.version, m.models_loaded, list(m.reasons))
