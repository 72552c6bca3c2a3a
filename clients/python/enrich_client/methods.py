"""The public calls, written once and shared by the synchronous and asyncio clients through ``_invoke`` and
``_stream``."""
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import api
from .types import (
    AuditEvent, CreatedToken, Destination, DestinationMapping, DestinationPage, EnrichResult, Health, MappingResult,
    Model, ModelPage, ModelSchedule, RunIssues, SyncRun, Token, Warehouse,
)

Event = Union[Mapping[str, Any], bytes]
MappingSpec = Union[DestinationMapping, Dict[str, Any]]


class Methods:
    """Every call the server offers. In :class:`~enrich_client.AsyncClient` each returns an awaitable (and
    ``watch_sync`` an async iterator) of the same type. ``timeout`` is the call's deadline in seconds (the
    client's ``timeout`` when None)."""

    def _invoke(self, call, timeout=None):  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    def _stream(self, call, timeout=None):  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    # Enrich

    def lookup(self, model: str, keys: Iterable[Union[int, str]], columns: Optional[Sequence[str]] = None,
               timeout: Optional[float] = None) -> List[Optional[Dict[str, Any]]]:
        """Rows of ``model`` for ``keys`` (ints or strings), in key order: a dict of column → value per found key,
        None for a missing one. ``columns`` limits the columns (default: all). Timestamps are UTC datetimes."""
        return self._invoke(api.lookup(model, keys, columns), timeout)

    def enrich(self, events: Iterable[Event], model: str = "", key_path: str = "",
               enrichments: Optional[Mapping[str, str]] = None, destination: str = "",
               timeout: Optional[float] = None) -> List[EnrichResult]:
        """Enrich events (dicts, or JSON bytes) with ``model`` rows matched at ``key_path``, copying columns as
        ``enrichments`` ({column: "dotted.key"}) says; or send them through ``destination``'s mappings."""
        return self._invoke(api.enrich(events, model, key_path, enrichments, destination), timeout)

    def test_mapping(self, event: Event, destination: str = "", mapping: str = "",
                     inline_mapping: Optional[MappingSpec] = None, timeout: Optional[float] = None) -> MappingResult:
        """What ``event`` would become under a saved mapping (``destination`` + ``mapping``) or an
        ``inline_mapping``, without sending anything: condition verdict, rows found, output."""
        return self._invoke(api.test_mapping(event, destination, mapping, inline_mapping), timeout)

    # Models

    def create_model(self, name: str, primary_key: str, table: str = "", query: str = "", warehouse: str = "",
                     timeout: Optional[float] = None) -> Model:
        """Define a model over a table or a SQL query; its columns are introspected."""
        return self._invoke(api.create_model(name, primary_key, table, query, warehouse), timeout)

    def get_model(self, name: str, timeout: Optional[float] = None) -> Model:
        return self._invoke(api.get_model(name), timeout)

    def list_models(self, page_size: int = 0, page_token: str = "", name_prefix: str = "",
                    timeout: Optional[float] = None) -> ModelPage:
        return self._invoke(api.list_models(page_size, page_token, name_prefix), timeout)

    def update_model(self, name: str, primary_key: str, table: str = "", query: str = "", expected_version: int = 0,
                     timeout: Optional[float] = None) -> Model:
        """Change a model's source or key; refused (Aborted) when ``expected_version`` is stale."""
        return self._invoke(api.update_model(name, primary_key, table, query, expected_version), timeout)

    def delete_model(self, name: str, timeout: Optional[float] = None) -> None:
        """Delete a model; refused (FailedPrecondition) while a destination mapping uses it."""
        return self._invoke(api.delete_model(name), timeout)

    def list_audit(self, method: str = "", token_id: str = "", object: str = "", since_ms: int = 0,
                   before_id: int = 0, limit: int = 0, timeout: Optional[float] = None) -> List[AuditEvent]:
        """The audit trail of admin writes and refused attempts, newest first (workspace owners only)."""
        return self._invoke(api.list_audit(method, token_id, object, since_ms, before_id, limit), timeout)

    # Destinations

    def create_destination(self, name: str, mappings: Sequence[MappingSpec],
                           timeout: Optional[float] = None) -> Destination:
        """Create a destination from :class:`DestinationMapping` values (or dicts with the same keys: "name",
        "condition" (Segment FQL), "matches", "enrichments", "fields" (mapping-kit))."""
        return self._invoke(api.create_destination(name, mappings), timeout)

    def get_destination(self, name: str, timeout: Optional[float] = None) -> Destination:
        return self._invoke(api.get_destination(name), timeout)

    def list_destinations(self, page_size: int = 0, page_token: str = "", name_prefix: str = "",
                          timeout: Optional[float] = None) -> DestinationPage:
        return self._invoke(api.list_destinations(page_size, page_token, name_prefix), timeout)

    def update_destination(self, name: str, mappings: Sequence[MappingSpec], expected_version: int = 0,
                           timeout: Optional[float] = None) -> Destination:
        """Replace a destination's mappings; refused (Aborted) when ``expected_version`` is stale."""
        return self._invoke(api.update_destination(name, mappings, expected_version), timeout)

    def delete_destination(self, name: str, timeout: Optional[float] = None) -> None:
        return self._invoke(api.delete_destination(name), timeout)

    # Sync

    def trigger_sync(self, model: str, full_resync: bool = False, timeout: Optional[float] = None) -> SyncRun:
        """Start a sync; returns the run (``SyncStatus.IN_PROGRESS``). ``full_resync`` reads every row."""
        return self._invoke(api.trigger_sync(model, full_resync), timeout)

    def get_sync_run(self, run_id: int, timeout: Optional[float] = None) -> SyncRun:
        return self._invoke(api.get_sync_run(run_id), timeout)

    def cancel_sync(self, run_id: int, timeout: Optional[float] = None) -> SyncRun:
        """Stop a run; returns it as it ended (FAILED, ``cancelled``). FailedPrecondition when it had finished."""
        return self._invoke(api.cancel_sync(run_id), timeout)

    def run_issues(self, run_id: int, timeout: Optional[float] = None) -> RunIssues:
        """The rows a run left out, with key, reason and attempt (the first 1,000)."""
        return self._invoke(api.run_issues(run_id), timeout)

    def list_sync_runs(self, model: str = "", limit: int = 0, timeout: Optional[float] = None) -> List[SyncRun]:
        """The latest ``limit`` runs (20 when 0) of ``model``, or of every model, newest first."""
        return self._invoke(api.list_sync_runs(model, limit), timeout)

    def watch_sync(self, run_id: int, timeout: float = 3600.0):
        """The run's states (:class:`SyncRun`) until it finishes; the last one has its final status."""
        return self._stream(api.watch_sync(run_id), timeout)

    def set_schedule(self, model: str, schedule: str, timeout: Optional[float] = None) -> ModelSchedule:
        """When ``model`` syncs by itself: "manual", "every 15m" … "every 24h", "daily 09:30 Europe/Paris",
        "weekly mon,thu 09:30 UTC" or "cron */30 * * * *" (UTC)."""
        return self._invoke(api.set_schedule(model, schedule), timeout)

    def list_schedules(self, timeout: Optional[float] = None) -> List[ModelSchedule]:
        return self._invoke(api.list_schedules(), timeout)

    # Warehouses

    def list_warehouses(self, test: bool = False, timeout: Optional[float] = None) -> List[Warehouse]:
        """The warehouses models can read from; with ``test``, whether each answers now (``reachable``, ``detail``)."""
        return self._invoke(api.list_warehouses(test), timeout)

    def create_warehouse(self, name: str, kind: str, connection: str, password: str = "",
                         timeout: Optional[float] = None) -> Warehouse:
        """Connects a warehouse ("postgres" or "sqlite"); the server tests it first. The password is never returned."""
        return self._invoke(api.create_warehouse(name, kind, connection, password), timeout)

    def get_warehouse(self, name: str, test: bool = False, timeout: Optional[float] = None) -> Warehouse:
        return self._invoke(api.get_warehouse(name, test), timeout)

    def update_warehouse(self, name: str, connection: str = "", password: str = "", clear_password: bool = False,
                         expected_version: int = 0, timeout: Optional[float] = None) -> Warehouse:
        return self._invoke(api.update_warehouse(name, connection, password, clear_password, expected_version), timeout)

    def delete_warehouse(self, name: str, timeout: Optional[float] = None) -> None:
        return self._invoke(api.delete_warehouse(name), timeout)

    # Tokens (workspace owners only)

    def create_token(self, name: str, role: str, ttl_seconds: int = 0,
                     timeout: Optional[float] = None) -> CreatedToken:
        """Create a token with a role; ``secret`` ("enr_...") is shown this once."""
        return self._invoke(api.create_token(name, role, ttl_seconds), timeout)

    def list_tokens(self, timeout: Optional[float] = None) -> List[Token]:
        return self._invoke(api.list_tokens(), timeout)

    def revoke_token(self, token_id: str, timeout: Optional[float] = None) -> Token:
        return self._invoke(api.revoke_token(token_id), timeout)

    def health(self, timeout: Optional[float] = None) -> Health:
        return self._invoke(api.health(), timeout)
