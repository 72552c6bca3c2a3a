"""Request building and response conversion, shared by :class:`~enrich_client.Client` and
:class:`~enrich_client.AsyncClient`. Each function returns a :class:`Call`: the method, the request message, the
response type and how to turn the response into plain Python values."""
import json
from dataclasses import dataclass
from typing import Any, Callable

from .proto import admin_pb2, common_pb2, destinations_pb2, enrich_pb2, sync_pb2
from .types import (
    AuditEvent, CreatedToken, Destination, DestinationMapping, DestinationPage, EnrichResult, Health, MappingResult,
    Model, ModelPage, ModelSchedule, RunIssues, SyncRun, Token, Warehouse, time_from_us,
)


@dataclass
class Call:
    method: str
    request: Any
    response_type: Any
    convert: Callable[[Any], Any] = lambda response: response


def response(call, body):
    """Decodes a MESSAGE payload as the call's response type and converts it."""
    message = call.response_type()
    message.ParseFromString(body)
    return call.convert(message)


def check(status):
    """Raises the typed error for a STATUS that is not OK."""
    if status.code != 0:
        from .errors import error_for
        raise error_for(status.code, status.message, {entry.key: entry.value for entry in status.metadata})


def _column_value(column, index):
    if column.nulls[index]:
        return None
    kind = column.type
    if kind == common_pb2.COLUMN_TYPE_TIMESTAMP:
        return time_from_us(column.int64_values[index])
    if kind == common_pb2.COLUMN_TYPE_INT64:
        return column.int64_values[index]
    if kind == common_pb2.COLUMN_TYPE_DOUBLE:
        return column.double_values[index]
    if kind == common_pb2.COLUMN_TYPE_BOOL:
        return column.bool_values[index]
    return column.string_values[index]


def lookup(model, keys, columns=None):
    keys = list(keys)
    request = enrich_pb2.LookupRequest(model=model, columns=list(columns or []))
    if keys and all(isinstance(key, int) and not isinstance(key, bool) for key in keys):
        request.int_keys.extend(keys)
    else:
        request.string_keys.extend(str(key) for key in keys)

    def convert(response):
        rows = []
        for index, found in enumerate(response.found):
            rows.append({c.name: _column_value(c, index) for c in response.columns} if found else None)
        return rows

    return Call("enrich.v1.Enrich/Lookup", request, enrich_pb2.LookupResponse, convert)


def enrich(events, model="", key_path="", enrichments=None, destination=""):
    request = enrich_pb2.EnrichRequest(model=model, key_path=key_path, destination=destination)
    for column, key in (enrichments or {}).items():
        request.enrichments.add(column=column, key=key)
    request.events.extend(
        event if isinstance(event, (bytes, bytearray)) else json.dumps(event, separators=(",", ":")).encode()
        for event in events
    )

    def convert(response):
        return [EnrichResult.from_proto(event) for event in response.events]

    return Call("enrich.v1.Enrich/Enrich", request, enrich_pb2.EnrichResponse, convert)


def mapping_message(mapping):
    """A destination mapping message from a :class:`DestinationMapping` or a dict with the same keys."""
    return DestinationMapping.from_any(mapping).to_proto()


def test_mapping(event, destination="", mapping="", inline_mapping=None):
    request = destinations_pb2.TestMappingRequest(
        destination=destination, mapping=mapping,
        event=event if isinstance(event, (bytes, bytearray)) else json.dumps(event).encode(),
    )
    if inline_mapping is not None:
        request.inline_mapping.CopyFrom(mapping_message(inline_mapping))
    return Call("enrich.v1.Enrich/TestMapping", request, destinations_pb2.TestMappingResponse,
                lambda response: MappingResult.from_proto(response.result))


def create_model(name, primary_key, table="", query="", warehouse=""):
    request = admin_pb2.CreateModelRequest(name=name, table=table, query=query, primary_key=primary_key, warehouse=warehouse)
    return Call("enrich.v1.Admin/CreateModel", request, admin_pb2.Model, Model.from_proto)


def get_model(name):
    return Call("enrich.v1.Admin/GetModel", admin_pb2.GetModelRequest(name=name), admin_pb2.Model, Model.from_proto)


def list_models(page_size=0, page_token="", name_prefix=""):
    request = admin_pb2.ListModelsRequest(page_size=page_size, page_token=page_token, name_prefix=name_prefix)
    return Call("enrich.v1.Admin/ListModels", request, admin_pb2.ListModelsResponse,
                lambda response: ModelPage([Model.from_proto(m) for m in response.models], response.next_page_token))


def update_model(name, primary_key, table="", query="", expected_version=0):
    request = admin_pb2.UpdateModelRequest(name=name, table=table, query=query, primary_key=primary_key,
                                           expected_version=expected_version)
    return Call("enrich.v1.Admin/UpdateModel", request, admin_pb2.Model, Model.from_proto)


def delete_model(name):
    return Call("enrich.v1.Admin/DeleteModel", admin_pb2.DeleteModelRequest(name=name), admin_pb2.DeleteModelResponse,
                lambda response: None)


def list_audit(method="", token_id="", object="", since_ms=0, before_id=0, limit=0):
    request = admin_pb2.ListAuditRequest(method=method, token_id=token_id, object=object, since_ms=since_ms,
                                         before_id=before_id, limit=limit)
    return Call("enrich.v1.Admin/ListAudit", request, admin_pb2.ListAuditResponse,
                lambda response: [AuditEvent.from_proto(event) for event in response.events])


def create_destination(name, mappings):
    request = destinations_pb2.CreateDestinationRequest(name=name, mappings=[mapping_message(m) for m in mappings])
    return Call("enrich.v1.Admin/CreateDestination", request, destinations_pb2.Destination, Destination.from_proto)


def get_destination(name):
    return Call("enrich.v1.Admin/GetDestination", destinations_pb2.GetDestinationRequest(name=name),
                destinations_pb2.Destination, Destination.from_proto)


def list_destinations(page_size=0, page_token="", name_prefix=""):
    return Call("enrich.v1.Admin/ListDestinations",
                destinations_pb2.ListDestinationsRequest(page_size=page_size, page_token=page_token, name_prefix=name_prefix),
                destinations_pb2.ListDestinationsResponse,
                lambda response: DestinationPage([Destination.from_proto(d) for d in response.destinations],
                                                 response.next_page_token))


def update_destination(name, mappings, expected_version=0):
    request = destinations_pb2.UpdateDestinationRequest(
        name=name, mappings=[mapping_message(m) for m in mappings], expected_version=expected_version)
    return Call("enrich.v1.Admin/UpdateDestination", request, destinations_pb2.Destination, Destination.from_proto)


def delete_destination(name):
    return Call("enrich.v1.Admin/DeleteDestination", destinations_pb2.DeleteDestinationRequest(name=name),
                destinations_pb2.DeleteDestinationResponse, lambda response: None)


def trigger_sync(model, full_resync=False):
    return Call("enrich.v1.Sync/TriggerSync", sync_pb2.TriggerSyncRequest(model=model, full_resync=full_resync),
                sync_pb2.SyncRun, SyncRun.from_proto)


def get_sync_run(run_id):
    return Call("enrich.v1.Sync/GetSyncRun", sync_pb2.GetSyncRunRequest(id=int(run_id)), sync_pb2.SyncRun, SyncRun.from_proto)


def cancel_sync(run_id):
    return Call("enrich.v1.Sync/CancelSync", sync_pb2.CancelSyncRequest(id=int(run_id)), sync_pb2.SyncRun,
                SyncRun.from_proto)


def run_issues(run_id):
    return Call("enrich.v1.Sync/ListRunIssues", sync_pb2.ListRunIssuesRequest(id=int(run_id)),
                sync_pb2.ListRunIssuesResponse, RunIssues.from_proto)


def set_schedule(model, schedule):
    return Call("enrich.v1.Sync/SetSchedule", sync_pb2.SetScheduleRequest(model=model, schedule=schedule),
                sync_pb2.ModelSchedule, ModelSchedule.from_proto)


def list_schedules():
    return Call("enrich.v1.Sync/ListSchedules", sync_pb2.ListSchedulesRequest(), sync_pb2.ListSchedulesResponse,
                lambda response: [ModelSchedule.from_proto(s) for s in response.schedules])


def list_sync_runs(model="", limit=0):
    return Call("enrich.v1.Sync/ListSyncRuns", sync_pb2.ListSyncRunsRequest(model=model, limit=limit),
                sync_pb2.ListSyncRunsResponse, lambda response: [SyncRun.from_proto(run) for run in response.runs])


def watch_sync(run_id):
    return Call("enrich.v1.Sync/WatchSync", sync_pb2.WatchSyncRequest(id=int(run_id)), sync_pb2.SyncRun, SyncRun.from_proto)


def health():
    return Call("enrich.v1.Health/Check", admin_pb2.HealthCheckRequest(), admin_pb2.HealthCheckResponse, Health.from_proto)


def create_token(name, role, ttl_seconds=0):
    request = admin_pb2.CreateTokenRequest(name=name, role=role, ttl_seconds=ttl_seconds)
    return Call("enrich.v1.Admin/CreateToken", request, admin_pb2.CreateTokenResponse,
                lambda response: CreatedToken(Token.from_proto(response.token), response.secret))


def list_warehouses(test=False):
    return Call("enrich.v1.Admin/ListWarehouses", admin_pb2.ListWarehousesRequest(test=test),
                admin_pb2.ListWarehousesResponse,
                lambda response: [Warehouse.from_proto(info) for info in response.warehouses])


def create_warehouse(name, kind, connection, password=""):
    request = admin_pb2.CreateWarehouseRequest(name=name, kind=kind, connection=connection, password=password)
    return Call("enrich.v1.Admin/CreateWarehouse", request, admin_pb2.WarehouseInfo, Warehouse.from_proto)


def get_warehouse(name, test=False):
    return Call("enrich.v1.Admin/GetWarehouse", admin_pb2.GetWarehouseRequest(name=name, test=test),
                admin_pb2.WarehouseInfo, Warehouse.from_proto)


def update_warehouse(name, connection="", password="", clear_password=False, expected_version=0):
    request = admin_pb2.UpdateWarehouseRequest(name=name, connection=connection, password=password,
                                               clear_password=clear_password, expected_version=expected_version)
    return Call("enrich.v1.Admin/UpdateWarehouse", request, admin_pb2.WarehouseInfo, Warehouse.from_proto)


def delete_warehouse(name):
    return Call("enrich.v1.Admin/DeleteWarehouse", admin_pb2.DeleteWarehouseRequest(name=name),
                admin_pb2.DeleteWarehouseResponse, lambda response: None)


def list_tokens():
    return Call("enrich.v1.Admin/ListTokens", admin_pb2.ListTokensRequest(), admin_pb2.ListTokensResponse,
                lambda response: [Token.from_proto(token) for token in response.tokens])


def revoke_token(token_id):
    return Call("enrich.v1.Admin/RevokeToken", admin_pb2.RevokeTokenRequest(id=token_id), admin_pb2.Token, Token.from_proto)
