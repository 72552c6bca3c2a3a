#if canImport(Glibc)
    import Glibc
#endif

/// A fresh directory under /tmp for one test, removed with everything in it when released.
package final class TemporaryDirectory: Sendable {
    package let path: String

    package init() {
        var template = Array("/tmp/enrich-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: \(errno)")
        self.path = String(cString: made!)
    }

    package func file(_ name: String) -> String { "\(self.path)/\(name)" }

    /// Writes `contents` to `name` in this directory and returns the file's path.
    @discardableResult
    package func write(_ name: String, _ contents: String) -> String {
        let path = self.file(name)
        let file = fopen(path, "w")
        precondition(file != nil, "cannot write \(path)")
        _ = contents.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
        fclose(file)
        return path
    }

    deinit {
        Self.remove(self.path)
    }

    private static func remove(_ path: String) {
        guard let directory = opendir(path) else {
            unlink(path)
            return
        }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            let child = "\(path)/\(name)"
            var info = stat()
            if lstat(child, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                Self.remove(child)
            } else {
                unlink(child)
            }
        }
        closedir(directory)
        rmdir(path)
    }
}
