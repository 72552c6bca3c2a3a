#if canImport(Glibc)
    import Glibc
#endif

/// Starts a detached POSIX thread for one piece of blocking work (a warehouse call). Syncs are rare and long, so
/// a thread each costs nothing that matters, and no pool can run out.
enum BlockingThread {
    private final class Work {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func run(_ body: @escaping @Sendable () -> Void) {
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        defer { pthread_attr_destroy(&attributes) }
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { argument in
                Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue().body()  // The pointer passed below.
                return nil
            }, work)
        precondition(result == 0, "cannot start a thread for blocking work: errno \(result)")
    }
}
