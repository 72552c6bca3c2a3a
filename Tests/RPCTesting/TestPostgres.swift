#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL server the tests use: `ENRICH_TEST_POSTGRES` holds its libpq connection string.
/// `Scripts/test.sh` starts a throwaway cluster (`Scripts/postgres.sh`) and sets it, with
/// `ENRICH_REQUIRE_POSTGRES=1` so that a missing server fails the run instead of skipping silently.
package enum TestPostgres {
    package static var connectionString: String? {
        guard let value = getenv("ENRICH_TEST_POSTGRES") else { return nil }
        return String(cString: value)
    }

    package static var available: Bool { connectionString != nil }
}
