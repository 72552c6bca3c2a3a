package import Logging
import Synchronization

/// Collects log messages so a test can assert that something was logged.
package final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    package init() {}

    package var messages: [String] { self.lines.withLock { $0 } }

    package func contains(_ text: String) -> Bool { self.messages.contains { $0.contains(text) } }

    /// A logger that records here (at debug level and up).
    package func logger(label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    func append(_ line: String) { self.lines.withLock { $0.append(line) } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { self.metadata[key] }
            set { self.metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            self.capture.append("\(event.level): \(event.message)")
        }
    }
}
