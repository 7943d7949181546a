import ArgumentParser
import Configuration
import Foundation
import TriageCore
import TriageLLM
import TriageProcessor
import TriageServer

extension Triage {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every setting in force and where it came from: a flag, a variable, the config file, a default.",
            discussion: """
                Every command reads its settings the same way: a flag wins over an environment variable, which \
                wins over the config file (--config or TRIAGE_CONFIG), which wins over the default. This command \
                takes the same flags as run, work and serve, reads the settings as they would, and prints each \
                one with its value and its origin; secrets (API keys, the webhook secret, a store URI's password) \
                are masked. Exit status 1 when a setting cannot be used, with what is wrong.
                """
        )

        @OptionGroup var settings: ConfigOptions
        @OptionGroup var store: StoreOptions
        @OptionGroup var classifier: ClassifierOptions
        @OptionGroup var processing: ProcessorOptions
        @OptionGroup var server: ServerOptions
        @OptionGroup var format: OutputOptions

        @Flag(help: ArgumentHelp("Print the table of every setting, its flag, variable, file key and default, as "
                                 + "docs/configuration.md shows it.", visibility: .hidden))
        var markdown = false

        struct Shown: Encodable {
            var key: String
            var value: String?
            var origin: String
            /// `flag`, `environment`, `file` or `default`.
            var layer: String
        }

        func run() async throws {
            if markdown {
                print(try Self.markdownTable())
                return
            }
            let config = try settings.reader(store, classifier, processing, server)
            var problems: [String] = []
            var notes: [String] = []
            func attempt(_ body: () throws -> Void) {
                do { try body() } catch { problems.append("\(error)") }
            }
            attempt { _ = try config.storeConfiguration() }
            do {
                _ = try config.classifierSettings()
            } catch where config.origin(of: "llm") == .default && "\(error)".hasPrefix("no classifier chosen") {
                notes.append("no classifier chosen: run, work, serve and classify need --llm (or TRIAGE_LLM, or llm "
                             + "in the config file)")
            } catch {
                problems.append("\(error)")
            }
            attempt { _ = try config.build(ServerConfiguration.init(config:)) }
            let shown = config.readings().map { reading in
                Shown(key: reading.setting.key, value: reading.value.map { Self.text($0, reading.setting) },
                      origin: reading.origin.description, layer: Self.layer(reading.origin))
            }
            if format.json {
                struct Report: Encodable {
                    var settings: [Shown]
                    var notes: [String]
                    var problems: [String]
                }
                print(try Format.json(Report(settings: shown, notes: notes, problems: problems)))
            } else {
                let width = shown.map(\.key.count).max() ?? 10
                let valueWidth = min(44, shown.map { ($0.value ?? "—").count }.max() ?? 10)
                print(Format.pad("setting", width) + "  " + Format.pad("value", valueWidth) + "  from")
                for row in shown {
                    print(Format.pad(row.key, width) + "  " + Format.pad(Format.cut(row.value ?? "—", valueWidth),
                                                                        valueWidth) + "  " + row.origin)
                }
                for note in notes { print("\nNote: " + note) }
                if !problems.isEmpty { print("") }
                for problem in problems { FileHandle.standardError.write(Data("Error: \(problem)\n".utf8)) }
            }
            if !problems.isEmpty { throw ExitCode(1) }
        }

        /// Every setting with its flag, variables, whether the file may hold it, and its default: each component's
        /// defaults as it reads them with nothing set.
        static func markdownTable() throws -> String {
            let config = try TriageConfig(flags: [:], configPath: nil, environment: [:])
            _ = try? config.storeConfiguration()
            _ = try? config.classifierSettings()
            _ = try? config.build(ServerConfiguration.init(config:))
            let defaults = Dictionary(config.readings().map { ($0.setting.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            func code(_ text: String?) -> String { text.map { "`\($0)`" } ?? "" }
            let rows = SettingsCatalog.all.map { setting in
                let value = defaults[setting.key].flatMap { $0 }.map { text($0, setting) }
                    .flatMap { $0.isEmpty || $0 == "—" ? nil : $0 }
                return "| \(code(setting.key)) | \(code(setting.flag)) | "
                    + setting.environment.map { "`\($0)`" }.joined(separator: ", ")
                    + " | \(setting.inFile ? "yes" : "no") | \(value.map { "`\($0)`" } ?? "none") | \(setting.summary) |"
            }
            return (["| key | flag | environment | file | default | what it is |", "|---|---|---|---|---|---|"] + rows)
                .joined(separator: "\n")
        }

        static func layer(_ origin: TriageConfig.Origin) -> String {
            switch origin {
            case .flag: "flag"
            case .environment: "environment"
            case .file: "file"
            case .default: "default"
            }
        }

        /// A value as shown: secrets masked (a store URI keeps all but its password).
        static func text(_ content: ConfigContent, _ setting: Setting) -> String {
            let text: String = switch content {
            case .string(let value): value
            case .int(let value): String(value)
            case .double(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
            case .bool(let value): String(value)
            case .stringArray(let values): values.isEmpty ? "—" : values.joined(separator: ", ")
            default: "\(content)"
            }
            guard setting.secret else { return text }
            if setting.key == "store" { return StoreLocation.redact(text) }
            if case .stringArray(let values) = content { return values.isEmpty ? "—" : "*** (\(values.count))" }
            return text.isEmpty ? "" : "***"
        }
    }
}
