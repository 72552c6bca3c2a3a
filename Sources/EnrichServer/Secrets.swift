import Catalog
import Logging
import Synchronization
package import SystemCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// The keyring seals the catalog's secrets.
extension SecretKeyring: SecretSealer {}

/// Where the keys that seal warehouse passwords come from: `ServerConfiguration.secretKeys` (enrichd's
/// `ENRICHD_SECRET_KEYS`), else the key file, else a new key written to the key file on first start.
///
/// Rotation: put a new key (`enrichd secret-key generate`) on the first line of the key file, keep the old one
/// below it, restart: every stored password is sealed again with the new key at start; then remove the old line.
enum SecretKeys {
    static func load(configuration: ServerConfiguration, logger: Logger) throws -> SecretKeyring {
        if let text = configuration.secretKeys {
            do { return try SecretKeyring(text: text) } catch { throw ServerError("secret keys: \(error)") }
        }
        let path = configuration.resolvedSecretKeyFile
        if let text = DataDirectory.read(path) {
            do { return try SecretKeyring(text: text) } catch {
                throw ServerError("secret key file '\(path)': \(error)")
            }
        }
        guard errno == ENOENT else {
            throw ServerError("cannot read the secret key file '\(path)': \(String(cString: strerror(errno)))")
        }
        let key = SecretKeyring.generateKey()
        try DataDirectory.writeNew(
            path, contents: "# enrichd secret keys, first current: see `enrichd secret-key --help`\n\(key)\n")
        logger.notice("created a secret key in \(path) (mode 0600); warehouse passwords are sealed with it")
        do { return try SecretKeyring(text: key) } catch { throw ServerError("secret key: \(error)") }
    }
}

/// The data directory's permissions: 0700, and every file in it 0600, whatever the umask or an older version
/// left behind (the catalog, its WAL and shared memory, snapshots, tokens, keys, the embedded warehouse).
enum DataDirectory {
    static func restrict(_ path: String, logger: Logger) throws {
        guard chmod(path, 0o700) == 0 else {
            throw ServerError(
                "cannot restrict the data directory '\(path)' to its owner: \(String(cString: strerror(errno)))")
        }
        Self.restrictFiles(in: path, logger: logger)
    }

    private static func restrictFiles(in directory: String, logger: Logger) {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = "\(directory)/\(name)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if info.st_mode & 0o077 != 0 { _ = chmod(path, 0o700) }
                Self.restrictFiles(in: path, logger: logger)
            case S_IFREG:
                if info.st_mode & 0o077 != 0 {
                    if chmod(path, 0o600) == 0 {
                        logger.notice("restricted \(path) to its owner (was \(String(info.st_mode & 0o777, radix: 8)))")
                    }
                }
            default:
                break
            }
        }
    }

    /// A small file's contents; nil with errno set when it cannot be read.
    static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk[0..<count]
            if bytes.count > 1 << 20 { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Creates `path` (mode 0600; it must not exist) holding `contents`.
    static func writeNew(_ path: String, contents: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw ServerError("cannot create '\(path)': \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let bytes = Array(contents.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
            throw ServerError("cannot write '\(path)': \(String(cString: strerror(errno)))")
        }
    }
}

/// An exclusive advisory lock (`flock`) on `<data-dir>/enrichd.lock`, holding the owner's pid: two servers on one
/// data directory would race on the catalog, the snapshots and the warehouse state. The kernel drops the lock when
/// the process exits, however it exits, so a crash never leaves a stale lock.
final class DataDirectoryLock: Sendable {
    let path: String
    private let descriptor: Mutex<Int32?>

    /// - Throws: `ServerError` naming the other server's pid when the directory is in use.
    init(directory: String) throws {
        self.path = "\(directory)/enrichd.lock"
        let descriptor = open(self.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ServerError("cannot open \(self.path): \(String(cString: strerror(errno)))")
        }
        // 0, or -1 with EWOULDBLOCK when another process holds the lock.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = DataDirectory.read(self.path)?.split(separator: "\n").first.map(String.init) ?? "unknown"
            close(descriptor)
            throw ServerError(
                "the data directory \(directory) is in use by another enrichd (pid \(holder)); stop it, or give this one another --data-dir"
            )
        }
        self.descriptor = Mutex(descriptor)
        var pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        pid.withUTF8 { _ = pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// Lets another server take the directory (a stopped server releases it; exiting does too).
    func release() {
        self.descriptor.withLock { descriptor in
            if let open = descriptor { close(open) }  // closing drops the flock
            descriptor = nil
        }
    }

    deinit { self.release() }
}
