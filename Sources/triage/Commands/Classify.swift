import ArgumentParser
import Foundation
import TriageCore

extension Triage {
    struct Classify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Classify one query now and print the classification as JSON. Nothing is stored.",
            discussion: """
                Example: triage classify "I was charged twice this month" --llm openai --model gpt-4o-mini
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var classifier: ClassifierOptions

        @Argument(help: "The query's text.")
        var text: String

        @Option(help: "The query's subject line.")
        var subject: String?

        func validate() throws {
            _ = try query()
        }

        private func query() throws -> SupportQuery {
            do {
                return try SupportQuery(text: text, subject: subject).validated()
            } catch {
                throw ValidationError(error.field == "text" && error.reason.hasPrefix("must not be empty")
                                      ? "the text to classify is empty" : "the query's \(error)")
            }
        }

        @Flag(help: "Print the request exactly as it would be sent (the JSON body, redacted as it would be) and send nothing.")
        var showRequest = false

        func run() async throws {
            let query = try query()
            if showRequest {
                let shown = try await settings.reader(classifier).withClassifier(concurrency: 1) { classifier, _ in
                    Triage.Run.request(for: query, id: "cli", classifier: classifier)
                }
                print(shown.body ?? "(\(shown.note ?? "nothing would be sent"))")
                return
            }
            let started = ContinuousClock.now
            do {
                var classification = try await settings.reader(classifier).withClassifier(concurrency: 1) { classifier, _ in
                    try await classifier.classify(ClassificationRequest(id: QueryID("cli"), query: query, attempt: 1))
                }
                let elapsed = ContinuousClock.now - started
                classification.latencyMs = elapsed.timeInterval * 1000
                print(try Format.json(classification))
            } catch let error as ClassifierError {
                throw CLIError("the query could not be classified (\(error.kind)): \(error.message)")
            }
        }
    }
}
