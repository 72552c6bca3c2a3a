package import Logging
import Synchronization

/// Collects log messages so a test can assert that something was logged.
package final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])
    private let metadataByLine = Mutex<[Logger.Metadata]>([])

    package init() {}

    package var messages: [String] { self.lines.withLock { $0 } }

    /// Each message's metadata (the logger's and the call's), in the order of `messages`.
    package var metadata: [Logger.Metadata] { self.metadataByLine.withLock { $0 } }

    package func contains(_ text: String) -> Bool { self.messages.contains { $0.contains(text) } }

    /// A logger that records here (at debug level and up).
    package func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    func append(_ line: String, metadata: Logger.Metadata) {
        // One lock order (lines, then metadata) keeps the two arrays aligned.
        self.lines.withLock { lines in
            lines.append(line)
            self.metadataByLine.withLock { $0.append(metadata) }
        }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            self.capture.append(
                "\(event.level): \(event.message)",
                metadata: self.metadata.merging(event.metadata ?? [:]) { $1 })
        }
    }
}
