"""The public calls, written once and shared by the synchronous and asyncio clients through ``_invoke`` and
``_stream``."""
from . import api


class Methods:
    """Every call the server offers. In :class:`~enrich_client.AsyncClient` each returns an awaitable (and
    ``watch_sync`` an async iterator)."""

    def _invoke(self, call, timeout=None):  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    def _stream(self, call, timeout=None):  # pragma: no cover - implemented by the clients
        raise NotImplementedError

    # Enrich

    def lookup(self, model, keys, columns=None, timeout=None):
        """Rows of ``model`` for ``keys`` (ints or strings), in key order: a dict of column → value per found key,
        None for a missing one. ``columns`` limits the columns (default: all). Timestamps are microseconds."""
        return self._invoke(api.lookup(model, keys, columns), timeout)

    def enrich(self, events, model="", key_path="", enrichments=None, destination="", timeout=None):
        """Enrich events (dicts, or JSON bytes) with ``model`` rows matched at ``key_path``, copying columns as
        ``enrichments`` ({column: "dotted.key"}) says; or send them through ``destination``'s mappings.
        Returns one :class:`~enrich_client.EnrichResult` per event."""
        return self._invoke(api.enrich(events, model, key_path, enrichments, destination), timeout)

    def test_mapping(self, event, destination="", mapping="", inline_mapping=None, timeout=None):
        """What ``event`` would become under a saved mapping (``destination`` + ``mapping``) or an
        ``inline_mapping`` dict, without sending anything: condition verdict, rows found, output."""
        return self._invoke(api.test_mapping(event, destination, mapping, inline_mapping), timeout)

    # Models

    def create_model(self, name, primary_key, table="", query="", warehouse="", timeout=None):
        """Define a model over a table or a SQL query; its columns are introspected."""
        return self._invoke(api.create_model(name, primary_key, table, query, warehouse), timeout)

    def get_model(self, name, timeout=None):
        return self._invoke(api.get_model(name), timeout)

    def list_models(self, page_size=0, page_token="", name_prefix="", timeout=None):
        return self._invoke(api.list_models(page_size, page_token, name_prefix), timeout)

    def update_model(self, name, primary_key, table="", query="", expected_version=0, timeout=None):
        """Change a model's source or key; refused (Aborted) when ``expected_version`` is stale."""
        return self._invoke(api.update_model(name, primary_key, table, query, expected_version), timeout)

    def delete_model(self, name, timeout=None):
        """Delete a model; refused (FailedPrecondition) while a destination mapping uses it."""
        return self._invoke(api.delete_model(name), timeout)

    def list_audit(self, method="", token_id="", object="", since_ms=0, before_id=0, limit=0, timeout=None):
        """The audit trail of admin writes and refused attempts, newest first (workspace owners only)."""
        return self._invoke(api.list_audit(method, token_id, object, since_ms, before_id, limit), timeout)

    # Destinations

    def create_destination(self, name, mappings, timeout=None):
        """Create a destination from mapping dicts: {"name", "condition" (Segment FQL), "matches":
        [{"model", "match_property"}], "enrichments": [{"model", "column", "key"}], "fields" (mapping-kit)}."""
        return self._invoke(api.create_destination(name, mappings), timeout)

    def get_destination(self, name, timeout=None):
        return self._invoke(api.get_destination(name), timeout)

    def list_destinations(self, page_size=0, page_token="", name_prefix="", timeout=None):
        return self._invoke(api.list_destinations(page_size, page_token, name_prefix), timeout)

    def update_destination(self, name, mappings, expected_version=0, timeout=None):
        """Replace a destination's mappings; refused (Aborted) when ``expected_version`` is stale."""
        return self._invoke(api.update_destination(name, mappings, expected_version), timeout)

    def delete_destination(self, name, timeout=None):
        return self._invoke(api.delete_destination(name), timeout)

    # Sync

    def trigger_sync(self, model, full_resync=False, timeout=None):
        """Start a sync; returns the run (status "SYNC_STATUS_IN_PROGRESS"). ``full_resync`` reads every row."""
        return self._invoke(api.trigger_sync(model, full_resync), timeout)

    def get_sync_run(self, run_id, timeout=None):
        return self._invoke(api.get_sync_run(run_id), timeout)

    def list_sync_runs(self, model, limit=0, timeout=None):
        return self._invoke(api.list_sync_runs(model, limit), timeout)

    def watch_sync(self, run_id, timeout=3600.0):
        """Progress of a run (dicts with rows_read, rows_expected, phase, status) until it finishes."""
        return self._stream(api.watch_sync(run_id), timeout)

    # Tokens (workspace owners only)

    def create_token(self, name, role, ttl_seconds=0, timeout=None):
        """Create a token with a role; returns {"token": {...}, "secret": "enr_..."}; the secret is shown once."""
        return self._invoke(api.create_token(name, role, ttl_seconds), timeout)

    def list_warehouses(self, test=False, timeout=None):
        """The warehouses models can read from; with ``test``, whether each answers now (``reachable``, ``detail``)."""
        return self._invoke(api.list_warehouses(test), timeout)

    def create_warehouse(self, name, kind, connection, password="", timeout=None):
        """Connects a warehouse ("postgres" or "sqlite"); the server tests it first. The password is never returned."""
        return self._invoke(api.create_warehouse(name, kind, connection, password), timeout)

    def get_warehouse(self, name, test=False, timeout=None):
        return self._invoke(api.get_warehouse(name, test), timeout)

    def update_warehouse(self, name, connection="", password="", clear_password=False, expected_version=0, timeout=None):
        return self._invoke(api.update_warehouse(name, connection, password, clear_password, expected_version), timeout)

    def delete_warehouse(self, name, timeout=None):
        return self._invoke(api.delete_warehouse(name), timeout)

    def list_tokens(self, timeout=None):
        return self._invoke(api.list_tokens(), timeout)

    def revoke_token(self, token_id, timeout=None):
        return self._invoke(api.revoke_token(token_id), timeout)

    def health(self, timeout=None):
        return self._invoke(api.health(), timeout)
