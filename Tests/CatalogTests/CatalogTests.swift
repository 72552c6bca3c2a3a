import Catalog
import RPCTesting
import SystemCrypto
import Testing

@Suite("Catalog")
struct CatalogTests {
    static func model(_ name: String) -> ModelRecord {
        ModelRecord(
            name: name, warehouse: "embedded", sourceTable: "users", sourceQuery: "", primaryKey: "id",
            columns: [CatalogColumn(name: "id", type: "int64", sourceType: "INTEGER")], createdAtMilliseconds: 1
        )
    }

    @Test(
        "A write whose commit deadline has passed rolls back and says so; one within it commits; without one, none applies"
    )
    func commitDeadline() throws {
        let catalog = try Catalog.inMemory()
        #expect(throws: CatalogError.deadlineExceeded) {
            try CommitDeadline.$current.withValue(.now - .milliseconds(1)) {
                try catalog.createModel(Self.model("late"))
            }
        }
        #expect(throws: CatalogError.modelNotFound(name: "late")) { try catalog.model(named: "late") }
        try CommitDeadline.$current.withValue(.now + .seconds(30)) { try catalog.createModel(Self.model("early")) }
        #expect(try catalog.model(named: "early").name == "early")
        try catalog.createModel(Self.model("unbounded"))
        #expect(try catalog.model(named: "unbounded").name == "unbounded")
    }

    @Test("Migrations are named and applied once; reopening the file keeps the data")
    func migrationsAndReopen() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("catalog.sqlite")
        do {
            let catalog = try Catalog(path: path)
            #expect(
                try catalog.appliedMigrations() == [
                    "v1_models_and_sync_runs", "v2_destinations_and_mappings", "v3_api_tokens", "v4_audit_trail",
                    "v5_model_schedules", "v6_warehouses", "v7_installation_id", "v8_interrupted_runs",
                    "v9_cancelled_runs",
                ])
            try catalog.createModel(Self.model("users"))
        }
        let reopened = try Catalog(path: path)
        #expect(try reopened.model(named: "users") == Self.model("users"))
    }

    @Test("Model names are unique and missing models are reported by name")
    func modelErrors() throws {
        let catalog = try Catalog.inMemory()
        try catalog.createModel(Self.model("users"))
        #expect(throws: CatalogError.modelAlreadyExists(name: "users")) { try catalog.createModel(Self.model("users")) }
        #expect(throws: CatalogError.modelNotFound(name: "nope")) { try catalog.model(named: "nope") }
    }

    @Test("Models list in name order, a page at a time")
    func paging() throws {
        let catalog = try Catalog.inMemory()
        for name in ["c", "a", "e", "b", "d"] { try catalog.createModel(Self.model(name)) }
        #expect(try catalog.listModels(after: nil, limit: 2).map(\.name) == ["a", "b"])
        #expect(try catalog.listModels(after: "b", limit: 2).map(\.name) == ["c", "d"])
        #expect(try catalog.listModels(after: "d", limit: 2).map(\.name) == ["e"])
    }

    @Test("Runs are recorded, updated, listed newest first, and interrupted ones are failed on restart")
    func runs() throws {
        let catalog = try Catalog.inMemory()
        try catalog.createModel(Self.model("users"))
        var first = try catalog.startRun(model: "users", at: 10)
        first.status = .partialSuccess
        first.rowsRead = 5
        first.issues = [RunIssueRecord(rowNumber: 2, key: "7", reason: "duplicate primary key")]
        try catalog.saveRun(first)
        let second = try catalog.startRun(model: "users", at: 20)
        #expect(try catalog.run(id: first.id!) == first)
        #expect(try catalog.runs(model: "users", limit: 10).map(\.id) == [second.id, first.id])
        #expect(try catalog.failInterruptedRuns(at: 30) == ["users"])
        let interrupted = try catalog.run(id: second.id!)
        #expect(interrupted.status == .failed)
        #expect(interrupted.error == "interrupted: the server stopped during the run")
        #expect(throws: CatalogError.modelNotFound(name: "nope")) { try catalog.startRun(model: "nope", at: 1) }
        #expect(throws: CatalogError.runNotFound(id: 999)) { try catalog.run(id: 999) }
    }

    @Test("Updating columns bumps the model version only when they change")
    func columnsVersion() throws {
        let catalog = try Catalog.inMemory()
        try catalog.createModel(Self.model("users"))
        try catalog.updateColumns(model: "users", columns: Self.model("users").columns)
        #expect(try catalog.model(named: "users").version == 1)
        try catalog.updateColumns(
            model: "users", columns: [CatalogColumn(name: "id", type: "string", sourceType: "TEXT")])
        #expect(try catalog.model(named: "users").version == 2)
    }
}

@Suite("Catalog: destinations")
struct DestinationCatalogTests {
    static let mapping = MappingRecord(
        name: "orders", condition: "type = \"track\"",
        matches: [MatchRecord(model: "products", matchProperty: "properties.sku")],
        enrichments: [EnrichmentRecord(model: "products", column: "name", key: "properties.name")],
        fieldsJSON: "{\"a\":1}"
    )

    @Test("A destination is stored with its mappings in order, and updates replace them atomically")
    func roundTripAndUpdate() throws {
        let catalog = try Catalog.inMemory()
        var second = Self.mapping
        second.name = "second"
        try catalog.createDestination(
            DestinationRecord(name: "d", mappings: [second, Self.mapping], createdAtMilliseconds: 5))
        #expect(try catalog.destination(named: "d").mappings.map(\.name) == ["second", "orders"])
        #expect(throws: CatalogError.destinationAlreadyExists(name: "d")) {
            try catalog.createDestination(DestinationRecord(name: "d", mappings: [], createdAtMilliseconds: 5))
        }
        let updated = try catalog.updateDestination(name: "d", mappings: [Self.mapping], expectedVersion: 1)
        #expect(updated.version == 2 && updated.mappings == [Self.mapping])
        #expect(throws: CatalogError.versionConflict(name: "d", expected: 1, actual: 2)) {
            try catalog.updateDestination(name: "d", mappings: [], expectedVersion: 1)
        }
        #expect(try catalog.destination(named: "d").mappings == [Self.mapping])
        try catalog.deleteDestination(name: "d")
        #expect(throws: CatalogError.destinationNotFound(name: "d")) { try catalog.destination(named: "d") }
        #expect(throws: CatalogError.destinationNotFound(name: "d")) { try catalog.deleteDestination(name: "d") }
    }
}

@Suite("Catalog: filters")
struct CatalogFilterTests {
    @Test("Name prefixes filter lists, with LIKE's wildcards taken literally")
    func prefixes() throws {
        let catalog = try Catalog.inMemory()
        for name in ["users", "users_v2", "usersX", "products", "u%s"] {
            try catalog.createModel(CatalogTests.model(name))
        }
        #expect(
            try catalog.listModels(after: nil, limit: 10, prefix: "users").map(\.name) == [
                "users", "usersX", "users_v2",
            ])
        #expect(try catalog.listModels(after: nil, limit: 10, prefix: "users_").map(\.name) == ["users_v2"])
        #expect(try catalog.listModels(after: nil, limit: 10, prefix: "u%").map(\.name) == ["u%s"])
        #expect(
            try catalog.listModels(after: "users", limit: 10, prefix: "users").map(\.name) == ["usersX", "users_v2"])
        for name in ["braze", "brazil", "amplitude"] {
            try catalog.createDestination(DestinationRecord(name: name, mappings: [], createdAtMilliseconds: 1))
        }
        #expect(try catalog.listDestinations(after: nil, limit: 10, prefix: "braz").map(\.name) == ["braze", "brazil"])
    }
}

/// Warehouse passwords at rest: sealed with AES-256-GCM under a keyring, old plaintext sealed at start, rotation.
@Suite("Sealed secrets in the catalog")
struct SealedSecretTests {
    static func record(_ password: String) -> WarehouseRecord {
        WarehouseRecord(
            name: "dw", kind: "postgres", connection: "host=x", password: password, createdAtMilliseconds: 1)
    }

    static func fileBytes(_ path: String) -> [UInt8] {
        Array((readTextFile(path) ?? "").utf8)
    }

    @Test(
        "A stored password is sealed (the file holds no plaintext), reads back, and cannot be opened with another key")
    func sealedAtRest() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("catalog.sqlite")
        let keyA = try KeyringSealer(SecretKeyring.generateKey())
        do {
            let catalog = try Catalog(path: path, sealer: keyA)
            try catalog.createWarehouse(Self.record("hunter2-secret-password"), limit: 10)
            #expect(try catalog.warehouse(named: "dw").password == "hunter2-secret-password")
        }
        for suffix in ["", "-wal", "-shm"] {
            let bytes = Self.fileBytes(path + suffix)
            #expect(!String(decoding: bytes, as: UTF8.self).contains("hunter2"), "catalog.sqlite\(suffix)")
        }
        let keyB = try KeyringSealer(SecretKeyring.generateKey())
        #expect(throws: CatalogError.self) { try Catalog(path: path, sealer: keyB).warehouse(named: "dw") }
    }

    @Test(
        "Plaintext from before sealing is sealed at start; a rotated key seals again with the new one, after which the old can go"
    )
    func upgradeAndRotation() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("catalog.sqlite")
        do { try Catalog(path: path).createWarehouse(Self.record("plaintext-password-1"), limit: 10) }
        #expect(
            String(decoding: Self.fileBytes(path) + Self.fileBytes(path + "-wal"), as: UTF8.self).contains(
                "plaintext-password-1"))
        let old = SecretKeyring.generateKey()
        let new = SecretKeyring.generateKey()
        do {
            let catalog = try Catalog(path: path, sealer: try KeyringSealer(old))
            #expect(try catalog.resealSecrets() == 1)
            #expect(try catalog.resealSecrets() == 0)
        }
        #expect(
            !String(decoding: Self.fileBytes(path) + Self.fileBytes(path + "-wal"), as: UTF8.self).contains(
                "plaintext-password-1"))
        do {
            let rotated = try Catalog(path: path, sealer: try KeyringSealer("\(new)\n\(old)"))
            #expect(try rotated.warehouse(named: "dw").password == "plaintext-password-1", "the old key still opens it")
            #expect(try rotated.resealSecrets() == 1)
        }
        let newOnly = try Catalog(path: path, sealer: try KeyringSealer(new))
        #expect(try newOnly.warehouse(named: "dw").password == "plaintext-password-1")
    }

    @Test("AES-256-GCM: a sealed value bound to one context does not open under another, nor when a byte changes")
    func bound() throws {
        let keyring = try SecretKeyring(text: SecretKeyring.generateKey())
        let sealed = keyring.seal("s3cret", context: "warehouse a")
        #expect(try keyring.open(sealed, context: "warehouse a") == "s3cret")
        #expect(throws: SecretKeyring.KeyringError.unauthentic(context: "warehouse b")) {
            try keyring.open(sealed, context: "warehouse b")
        }
        var bytes = Array(sealed.utf8)
        bytes[bytes.count - 1] = bytes[bytes.count - 1] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        #expect(throws: SecretKeyring.KeyringError.unauthentic(context: "warehouse a")) {
            try keyring.open(String(decoding: bytes, as: UTF8.self), context: "warehouse a")
        }
    }
}

/// The keyring as the catalog's sealer (the server's conformance lives in EnrichServer, which these tests do not
/// link).
struct KeyringSealer: SecretSealer {
    let keyring: SecretKeyring
    init(_ text: String) throws { self.keyring = try SecretKeyring(text: text) }
    func seal(_ secret: String, context: String) -> String { self.keyring.seal(secret, context: context) }
    func open(_ stored: String, context: String) throws -> String { try self.keyring.open(stored, context: context) }
    func isCurrent(_ stored: String) -> Bool { self.keyring.isCurrent(stored) }
}
