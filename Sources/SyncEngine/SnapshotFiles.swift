import EnrichPolicy
package import ModelCache

#if canImport(Glibc)
    import Glibc
#endif

/// Persists published snapshots in a directory, one file per model, so a restarted server serves its last
/// good data before the warehouse is reachable. Files are written to a temporary name and renamed, so a crash
/// mid-write leaves the previous file whole.
package struct SnapshotFiles: Sendable {
    package let directory: String
    /// Largest file read back (`SyncLimits.maxSnapshotFileBytes`); a bigger one is refused rather than exhausting
    /// memory.
    let maxFileBytes: Int
    /// A test's fault: every save fails with this errno, as a full disk (ENOSPC) would make it.
    let injectedWriteError: Int32?

    package init(directory: String, maxFileBytes: Int = SyncLimits().maxSnapshotFileBytes) {
        self.directory = directory
        self.maxFileBytes = maxFileBytes
        self.injectedWriteError = nil
    }

    /// Snapshot files whose every save fails with `errno`: the fault-injection seam of the unit tests (the
    /// disk-full script fills a real tmpfs instead).
    package static func failing(directory: String, errno: Int32) -> SnapshotFiles {
        SnapshotFiles(directory: directory, failing: errno)
    }

    private init(directory: String, failing: Int32) {
        self.directory = directory
        self.maxFileBytes = SyncLimits().maxSnapshotFileBytes
        self.injectedWriteError = failing
    }

    package func path(for model: String) -> String { "\(self.directory)/\(model).snapshot" }

    /// Writes the snapshot; returns the bytes written.
    /// - Throws: `SnapshotFileError.io` with the errno.
    @discardableResult
    package func save(_ snapshot: ModelSnapshot) throws(SnapshotFileError) -> Int {
        _ = mkdir(self.directory, 0o700)
        let bytes = snapshot.serialized()
        let final = self.path(for: snapshot.model)
        let temporary = final + ".tmp"
        if let injected = self.injectedWriteError { throw .io("write \(temporary)", injected) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw .io("open \(temporary)", errno) }
        // Any failure removes the partial file: the previous snapshot stays as it was, and no space is held.
        func fail(_ what: String, _ code: Int32) -> SnapshotFileError {
            close(descriptor)
            unlink(temporary)
            return .io(what, code)
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            guard written > 0 else { throw fail("write \(temporary)", errno) }
            offset += written
        }
        guard fsync(descriptor) == 0 else { throw fail("sync \(temporary)", errno) }
        guard close(descriptor) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io("close \(temporary)", code)
        }
        guard rename(temporary, final) == 0 else {
            let code = errno
            unlink(temporary)
            throw .io("rename \(temporary)", code)
        }
        return bytes.count
    }

    /// The stored snapshot of `model`, or nil when there is none.
    /// - Throws: `.io` when the file cannot be read, `.corrupt` when its contents do not decode.
    package func load(model: String) throws(SnapshotFileError) -> ModelSnapshot? {
        let path = self.path(for: model)
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw .io("open \(path)", errno)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw .io("stat \(path)", errno) }
        let size = Int(info.st_size)
        guard size <= self.maxFileBytes else { throw .corrupt(path, "file of \(size) bytes is over the limit") }
        var bytes = [UInt8](repeating: 0, count: size)
        var offset = 0
        while offset < size {
            let got = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + offset, size - offset) }
            guard got > 0 else { throw .io("read \(path)", errno) }
            offset += got
        }
        do {
            let snapshot = try ModelSnapshot(deserializing: bytes)
            guard snapshot.model == model else {
                throw SnapshotDecodingError.inconsistent("file holds model \(snapshot.model)")
            }
            return snapshot
        } catch {
            throw .corrupt(path, "\(error)")
        }
    }

    package func remove(model: String) { unlink(self.path(for: model)) }
}

package enum SnapshotFileError: Error, Equatable, Sendable, CustomStringConvertible {
    case io(String, Int32)
    case corrupt(String, String)

    package var description: String {
        switch self {
        case .io(let what, let code): "\(what) failed: \(String(cString: strerror(code)))"
        case .corrupt(let path, let reason): "snapshot \(path) is unreadable: \(reason)"
        }
    }
}
