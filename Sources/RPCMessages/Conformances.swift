public import RPCCore

// The public face of the protobuf-c bridge: every message is an RPCMessage. The witnesses live in the
// ProtobufC*.swift files, which are the only ones that see C types.
extension RequestHeader: RPCMessage {}
extension Status: RPCMessage {}
extension Column: RPCMessage {}
extension Model: RPCMessage {}
extension CreateModelRequest: RPCMessage {}
extension GetModelRequest: RPCMessage {}
extension ListModelsRequest: RPCMessage {}
extension ListModelsResponse: RPCMessage {}
extension HealthCheckRequest: RPCMessage {}
extension HealthCheckResponse: RPCMessage {}
extension SyncRun: RPCMessage {}
extension TriggerSyncRequest: RPCMessage {}
extension GetSyncRunRequest: RPCMessage {}
extension ListSyncRunsRequest: RPCMessage {}
extension ListSyncRunsResponse: RPCMessage {}
extension WatchSyncRequest: RPCMessage {}
extension LookupRequest: RPCMessage {}
extension ColumnValues: RPCMessage {}
extension LookupResponse: RPCMessage {}
extension Enrichment: RPCMessage {}
extension EnrichRequest: RPCMessage {}
extension EnrichedEvent: RPCMessage {}
extension EnrichResponse: RPCMessage {}
extension ModelMatch: RPCMessage {}
extension ColumnEnrichment: RPCMessage {}
extension DestinationMapping: RPCMessage {}
extension DestinationStats: RPCMessage {}
extension Destination: RPCMessage {}
extension CreateDestinationRequest: RPCMessage {}
extension GetDestinationRequest: RPCMessage {}
extension ListDestinationsRequest: RPCMessage {}
extension ListDestinationsResponse: RPCMessage {}
extension UpdateDestinationRequest: RPCMessage {}
extension DeleteDestinationRequest: RPCMessage {}
extension DeleteDestinationResponse: RPCMessage {}
extension EntityMatch: RPCMessage {}
extension MappingOutcome: RPCMessage {}
extension TestMappingRequest: RPCMessage {}
extension TestMappingResponse: RPCMessage {}
