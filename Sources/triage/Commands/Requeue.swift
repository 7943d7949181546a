import ArgumentParser
import Foundation

extension Triage {
    struct Requeue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give failed queries another chance: back to pending with their attempts reset.",
            discussion: "Their last error is kept until a new attempt replaces it."
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var format: OutputOptions

        @Flag(help: "Requeue every failed query.")
        var failed = false

        func validate() throws {
            guard failed else { throw ValidationError("say what to requeue: --failed") }
        }

        func run() async throws {
            let count = try await settings.reader(store).openStore().requeueFailed(now: Date())
            if format.json {
                print(try Format.json(["requeued": count]))
            } else {
                print("Requeued \(Format.count(count)) failed queries; the next run will classify them.")
            }
        }
    }
}
