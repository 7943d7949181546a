import Dispatch
import Foundation
import Logging
import TriageCore
import TriageProcessor

/// Runs a ``BatchProcessor`` from the command line: live progress on standard error, Ctrl-C to stop gently
/// (a second Ctrl-C stops at once), and the run record at the end.
enum RunSession {
    static func execute(
        store: any QueryStore,
        classifier: any Classifier,
        configuration: BatchProcessor.Configuration,
        showProgress: Bool = true
    ) async throws -> RunRecord {
        let processor = BatchProcessor(
            store: store, classifier: classifier, configuration: configuration, logger: CLILogging.logger("triage.run")
        )
        let control = RunControl()
        let reporter = ProgressReporter()
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if control.stopRequested {
                    FileHandle.standardError.write(Data("\nStopping now; handing in-flight queries back…\n".utf8))
                } else {
                    FileHandle.standardError.write(Data(
                        "\nStopping: finishing queries in flight (Ctrl-C again to stop at once)…\n".utf8
                    ))
                }
                control.escalate()
            }
            source.resume()
            return source
        }
        defer {
            for source in signals { source.cancel() }
        }
        let record = try await processor.run(control: control) { progress in
            // A provider batch changing state is news worth a line of its own, even from a quiet worker.
            reporter.batches(progress)
            guard showProgress else { return }
            if progress.state == .running {
                reporter.update(progress)
            } else {
                reporter.finish(progress)
            }
        }
        return record
    }
}

/// Logging for the command line: standard error, level from `TRIAGE_LOG_LEVEL` (default `warning`).
enum CLILogging {
    private static let bootstrapped: Bool = {
        let level = ProcessInfo.processInfo.environment["TRIAGE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level ?? .warning
            return handler
        }
        return true
    }()

    static func logger(_ label: String) -> Logger {
        _ = bootstrapped
        return Logger(label: label)
    }
}
