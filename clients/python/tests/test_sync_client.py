"""The synchronous client against a real enrichd over TLS."""
import os
import sqlite3
import threading

import pytest

from enrich_client import (
    SyncStatus, Aborted, Client, DeadlineExceeded, InvalidArgument, NotFound, PermissionDenied, ResourceExhausted, StatusCode,
    Unauthenticated, Unavailable,
)

from conftest import PRODUCTS, sku

ORDERS = {
    "name": "orders",
    "condition": 'type = "track" and event = "Order Completed"',
    "matches": [{"model": "products", "match_property": "properties.sku"}, {"model": "users", "match_property": "userId"}],
    "enrichments": [{"model": "users", "column": "plan", "key": "context.traits.plan"}],
    "fields": {"product": {"@path": "$.__segment_entities.products.main.products.name"},
               "plan": {"@path": "$.context.traits.plan"}},
}


def test_health(client):
    assert client.health().status == "SERVING"


def test_lookup_by_string_and_int_keys(client):
    rows = client.lookup("products", [sku(1), "SKU-nope", sku(PRODUCTS)], columns=["product_id", "name", "price"])
    assert rows[1] is None
    assert rows[0]["product_id"] == 1 and rows[2]["product_id"] == PRODUCTS
    assert rows[0]["name"].endswith(" 1") and isinstance(rows[0]["price"], float)
    users = client.lookup("users", [5, 999999], columns=["email", "age", "is_active"])
    assert users[0]["email"].endswith("5@example.com") and users[1] is None


def test_enrich_dicts_in_dicts_out(client):
    results = client.enrich(
        [{"type": "track", "userId": 7}, {"type": "track", "userId": "404404"}, {"type": "track"}, b"[1]"],
        model="users", key_path="userId", enrichments={"plan": "traits.plan"})
    assert [r.outcome for r in results] == ["enriched", "not_enriched", "not_enriched", "not_enriched"]
    assert [r.reason for r in results] == ["", "not_found", "no_key", "invalid_event"]
    assert results[0].event["traits"]["plan"] in {"free", "starter", "pro", "enterprise"}
    assert results[0].event["userId"] == 7


def test_destinations_and_test_mapping(client):
    created = client.create_destination("py-dest", [ORDERS])
    assert created.version == 1 and created.mappings[0].fields == ORDERS["fields"]
    event = {"type": "track", "event": "Order Completed", "userId": "12", "properties": {"sku": sku(12)}}
    results = client.enrich([event, {"type": "page"}], destination="py-dest")
    assert [r.outcome for r in results] == ["enriched", "not_enriched"]
    assert results[1].reason == "no_mapping_matched"
    live = results[0].mappings[0].output
    assert live["product"].endswith(" 12")
    dry = client.test_mapping(event, destination="py-dest", mapping="orders")
    assert dry.output == live and dry.condition_matched and [e.found for e in dry.entities] == [True, True]
    draft = dict(ORDERS, name="draft", condition='event = "Signed Up"')
    assert client.test_mapping(event, inline_mapping=draft).condition_matched is False
    updated = client.update_destination("py-dest", [ORDERS, dict(ORDERS, name="second")], expected_version=1)
    assert updated.version == 2
    with pytest.raises(Aborted):
        client.update_destination("py-dest", [ORDERS], expected_version=1)
    assert client.get_destination("py-dest").stats.events == 2
    assert "py-dest" in [d.name for d in client.list_destinations().destinations]
    client.delete_destination("py-dest")
    with pytest.raises(NotFound):
        client.get_destination("py-dest")


def test_sync_trigger_and_progress(client):
    # A re-sync of unchanged data reads nothing: the checksums in the warehouse say no row changed. A full resync reads every row and still adds or changes none.
    run = client.trigger_sync("products")
    states = list(client.watch_sync(run.id))
    assert states[-1].status == SyncStatus.SUCCESS
    assert states[-1].rows_read == 0
    run = client.trigger_sync("products", full_resync=True)
    states = list(client.watch_sync(run.id))
    assert states[-1].status == SyncStatus.SUCCESS
    assert states[-1].rows_read == PRODUCTS
    assert states[-1].rows_added + states[-1].rows_changed == 0
    assert client.get_sync_run(run.id).status == SyncStatus.SUCCESS
    assert client.list_sync_runs("products", limit=1)[0].id == run.id


def test_errors_carry_code_and_message(client):
    with pytest.raises(NotFound) as unknown:
        client.lookup("ghost", ["1"])
    assert unknown.value.code == StatusCode.NOT_FOUND and unknown.value.message == "model 'ghost' does not exist"
    with pytest.raises(ResourceExhausted) as oversized:
        client.enrich([{"userId": 1}] * 1001, model="users", key_path="userId")
    assert oversized.value.message == "more than 1000 events (the limit per Enrich)"
    with pytest.raises(InvalidArgument):
        client.lookup("users", ["1"], columns=["nope"])
    with pytest.raises(DeadlineExceeded):
        client.lookup("products", [sku(n) for n in range(1, 5001)], timeout=0.000001)
    assert client.health().status == "SERVING"


def test_threads_share_one_connection(client):
    failures = []

    def work(offset):
        for n in range(offset, offset + 40):
            rows = client.lookup("products", [sku(n)], columns=["product_id"])
            if rows[0]["product_id"] != n:
                failures.append(n)

    threads = [threading.Thread(target=work, args=(1 + 100 * i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_dropped_connection_fails_calls_in_flight_and_the_next_call_reconnects(server):
    with Client(server["host"], server["port"], ca_file=server["ca_file"], token=server["token"], timeout=10) as client:
        run = client.trigger_sync("products")
        watch = client.watch_sync(run.id)
        first = next(watch)
        assert first.model == "products"
        client._send_raw(bytes([0, 0, 0, 0, 99, 0, 0, 0, 1]))  # Unknown frame kind: the server closes.
        with pytest.raises(InvalidArgument) as dropped:
            for _ in watch:
                pass
        assert dropped.value.message == "protocol error: unknown frame kind 99"
        assert client.lookup("products", [sku(3)])[0]["product_id"] == 3
        for _ in client.watch_sync(run.id):
            pass


def test_untrusted_server_is_refused(server):
    import ssl
    other_ca = Client(server["host"], server["port"], ca_file=None, timeout=5)
    with pytest.raises((ssl.SSLError, Unavailable, OSError)):
        other_ca.health()


def test_permission_denied_and_unauthenticated(server, client):
    created = client.create_token("py-enrich-only", "enrich_only")
    assert created.secret.startswith("enr_") and created.token.role == "enrich_only"
    with Client(server["host"], server["port"], ca_file=server["ca_file"], token=created.secret) as limited:
        assert limited.lookup("products", [sku(1)], columns=["product_id"]) == [{"product_id": 1}]
        with pytest.raises(PermissionDenied) as denied:
            limited.create_model("nope", "id", table="users")
        assert denied.value.code == StatusCode.PERMISSION_DENIED
        assert denied.value.message == "role enrich_only may not call enrich.v1.Admin/CreateModel"
    client.revoke_token(created.token.id)
    with Client(server["host"], server["port"], ca_file=server["ca_file"], token=created.secret) as revoked:
        with pytest.raises(Unauthenticated):
            revoked.lookup("products", [sku(1)])
    with Client(server["host"], server["port"], ca_file=server["ca_file"]) as anonymous:
        assert anonymous.health().status == "SERVING"
        with pytest.raises(Unauthenticated):
            anonymous.list_models()


def test_audit_and_model_admin(client):
    assert [m.name for m in client.list_models(name_prefix="prod").models] == ["products"]
    client.create_model("py_users", "id", table="users")
    updated = client.update_model("py_users", "email", table="users", expected_version=1)
    assert updated.primary_key == "email" and updated.version == 2
    with pytest.raises(Aborted):
        client.update_model("py_users", "id", table="users", expected_version=1)
    client.delete_model("py_users")
    events = client.list_audit(object="model py_users")
    assert [e.method.split("/")[1] for e in reversed(events)] == ["CreateModel", "UpdateModel", "UpdateModel", "DeleteModel"]
    assert events[1].outcome_code == StatusCode.ABORTED


def test_list_warehouses(client):
    [embedded] = client.list_warehouses()
    assert (embedded.name, embedded.kind, embedded.builtin) == ("embedded", "sqlite", True)
    [tested] = client.list_warehouses(test=True)
    assert tested.tested and tested.reachable
    assert tested.detail.startswith("SQLite 3.")


def test_warehouse_lifecycle(client, tmp_path):
    path = str(tmp_path / "extra.sqlite")
    with pytest.raises(Unavailable):
        client.create_warehouse("py_extra", "sqlite", path)  # No such file yet: the connection test fails first.
    sqlite3.connect(path).execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").connection.commit()
    created = client.create_warehouse("py_extra", "sqlite", path)
    assert (created.kind, created.connection, created.version) == ("sqlite", path, 1)
    assert client.get_warehouse("py_extra", test=True).reachable
    client.delete_warehouse("py_extra")
    with pytest.raises(NotFound):
        client.get_warehouse("py_extra")


def test_results_are_typed(client):
    from datetime import datetime, timezone

    from enrich_client import Model, Outcome, SyncPhase, SyncRun

    model = client.get_model("users")
    assert isinstance(model, Model) and model.cached_rows == 2000 and isinstance(model.version, int)
    assert model.served_run_id > 0 and model.served_at.tzinfo == timezone.utc and model.age.total_seconds() >= 0
    assert model.last_run_status == SyncStatus.SUCCESS and model.last_run_status == "success"
    assert [c.name for c in model.columns][:2] == ["id", "email"] and model.columns[0].type == "int64"
    [row] = client.lookup("users", [1], columns=["signup_at"])
    assert isinstance(row["signup_at"], datetime) and row["signup_at"].tzinfo == timezone.utc
    runs = client.list_sync_runs()
    assert all(isinstance(run, SyncRun) and isinstance(run.id, int) for run in runs)
    assert {run.model for run in runs} >= {"users", "products"}
    assert runs[0].phase == SyncPhase.DONE and runs[0].finished and runs[0].started_at <= runs[0].finished_at
    [result] = client.enrich([{"userId": 1}], model="users", key_path="userId", enrichments={"plan": "traits.plan"})
    assert result.outcome is Outcome.ENRICHED and result.raw_event.startswith(b'{"userId":1')


def test_schedules_cancel_and_run_issues(client):
    from enrich_client import FailedPrecondition

    schedule = client.set_schedule("users", "every 1h")
    assert schedule.model == "users" and schedule.schedule == "every 1h" and schedule.next_run is not None
    assert "users" in [s.model for s in client.list_schedules()]
    assert client.set_schedule("users", "manual").next_run is None
    with pytest.raises(InvalidArgument):
        client.set_schedule("users", "sometimes")

    client.create_model("py_holes", "id", query="SELECT CASE WHEN id = 3 THEN NULL ELSE id END AS id FROM users")
    run = client.trigger_sync("py_holes")
    [*_, last] = client.watch_sync(run.id)
    assert last.status == SyncStatus.PARTIAL_SUCCESS and last.rows_failed == 1
    issues = client.run_issues(run.id)
    assert issues.rows_failed == 1 and issues.issues[0].key is None and issues.issues[0].row_number == 3
    with pytest.raises(FailedPrecondition) as finished:
        client.cancel_sync(run.id)
    assert finished.value.message == f"run {run.id} already finished (partial_success); nothing to cancel"
    client.delete_model("py_holes")


def _free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_connection_failures_are_one_plain_line(server, tmp_path):
    import subprocess

    from enrich_client import ConnectionFailed

    port = _free_port()
    with pytest.raises(ConnectionFailed) as refused:
        Client("127.0.0.1", port, ca_file=server["ca_file"], timeout=5).health()
    assert refused.value.code == StatusCode.UNAVAILABLE
    assert refused.value.message == f"nothing listens on 127.0.0.1:{port} — is enrichd running?"
    assert isinstance(refused.value.__cause__, ConnectionRefusedError)

    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    subprocess.run([os.path.join(root, "Scripts", "gen-certs.sh"), str(tmp_path / "other")], check=True,
                   stdout=subprocess.DEVNULL)
    other = str(tmp_path / "other" / "ca.pem")
    with pytest.raises(ConnectionFailed) as untrusted:
        Client(server["host"], server["port"], ca_file=other, timeout=5).health()
    assert untrusted.value.message == (f"the server's certificate at 127.0.0.1:{server['port']} is not signed by "
                                       f"{other} — pass ca_file= with the CA that signed it")
    with pytest.raises(ConnectionFailed) as misnamed:
        Client(server["host"], server["port"], ca_file=server["ca_file"], server_name="db.example", timeout=5).health()
    assert misnamed.value.message.startswith("the server's certificate is not for 'db.example'")
