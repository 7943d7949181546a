import Configuration
import Foundation
import Synchronization
import TriageCore
import TriageLLM

/// The one reader of every setting of every command: the flags, over the environment, over the config file, over
/// each component's defaults — swift-configuration's ``ConfigReader`` with one provider per layer. It remembers
/// which layer each value came from (an access reporter), so an error names its origin ("TRIAGE_RPM: must be more
/// than 0") and `triage config` can show it.
struct TriageConfig: Sendable {
    let reader: ConfigReader
    let file: ConfigFile?
    private let recorder: AccessRecorder

    /// Where a value came from.
    enum Origin: Sendable, Hashable, CustomStringConvertible {
        case flag(String)
        case environment(String)
        case file(path: String, key: String, line: Int?)
        case `default`

        var description: String {
            switch self {
            case .flag(let flag): flag
            case .environment(let name): name
            case .file(let path, let key, let line): "\(path)\(line.map { ", line \($0)" } ?? ""), key '\(key)'"
            case .default: "default"
            }
        }
    }

    /// - Parameters:
    ///   - flags: What the command's flags say, by setting key.
    ///   - configPath: The config file (`--config`, else `TRIAGE_CONFIG`), if any.
    init(flags: [String: ConfigContent], configPath: String?,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let path = configPath ?? environment["TRIAGE_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        file = try path.map(ConfigFile.load)
        recorder = AccessRecorder()
        var flagValues: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, content) in flags {
            flagValues[Self.absolute(key)] = ConfigValue(content, isSecret: SettingsCatalog.byKey[key]?.secret ?? false)
        }
        // A variable that is set but empty says nothing (as `TRIAGE_STORE=` in a shell script).
        let variables = environment.filter { !$0.value.isEmpty }
        let secrets = Set(SettingsCatalog.all.filter(\.secret).flatMap(\.environment))
        let variablesProvider = EnvironmentVariablesProvider(
            environmentVariables: variables, secretsSpecifier: .specific(secrets))
        var providers: [any ConfigProvider] = [InMemoryProvider(name: "flags", values: flagValues)]
        // One provider per position in a setting's list of variables: `store` reads TRIAGE_STORE, then MONGODB_URI.
        let depth = SettingsCatalog.all.map(\.environment.count).max() ?? 1
        for position in 0..<depth {
            providers.append(KeyMappingProvider(upstream: variablesProvider) { key in
                let names = SettingsCatalog.byKey[key.components.joined(separator: ".")]?.environment ?? []
                // A key with no variable at this position reads one that is never set.
                return AbsoluteConfigKey([position < names.count ? names[position] : "TRIAGE_UNSET_\(position)"])
            })
        }
        if let file { providers.append(file.provider) }
        reader = ConfigReader(providers: providers, accessReporter: recorder)
    }

    static func absolute(_ key: String) -> AbsoluteConfigKey {
        AbsoluteConfigKey(key.split(separator: ".").map(String.init))
    }

    /// Where the value read for `key` came from.
    func origin(of key: String) -> Origin {
        guard let event = recorder.event(for: key) else { return .default }
        return origin(key, event)
    }

    private func origin(_ key: String, _ event: AccessEvent) -> Origin {
        for result in event.providerResults {
            guard case .success(let lookup) = result.result, lookup.value != nil else { continue }
            switch result.providerName {
            case InMemoryProvider(name: "flags", values: [:]).providerName:
                return .flag(SettingsCatalog.byKey[key]?.flag ?? key)
            case InMemoryProvider(name: "file", values: [:]).providerName:
                return .file(path: file?.path ?? "", key: key, line: file?.lines[key])
            default:
                return .environment(lookup.encodedKey)
            }
        }
        return .default
    }

    /// Runs `body` (which builds a component's configuration from ``reader``) and turns what went wrong into a
    /// message naming the setting's origin: a value a layer gave that is not of the setting's kind, or one the
    /// component refused.
    func build<T>(_ body: (ConfigReader) throws -> T) throws -> T {
        let result: T
        do {
            result = try body(reader)
        } catch let error as ConfigurationError {
            let origin = origin(of: error.key)
            throw CLIError(origin == .default ? error.problem : "\(origin): \(error.problem)")
        }
        try checkConversions()
        return result
    }

    /// A value some layer gave that could not be read as its setting's kind (`TRIAGE_RPM=lots`).
    private func checkConversions() throws {
        for (key, event) in recorder.events {
            for result in event.providerResults {
                guard case .failure = result.result else { continue }
                let setting = SettingsCatalog.byKey[key]
                let expected = switch setting?.kind {
                case .int: "a whole number"
                case .double: "a number"
                case .bool: "true or false (1 or 0)"
                default: "a value of its kind"
                }
                let named = setting?.environment.first { ProcessInfo.processInfo.environment[$0] != nil }
                    ?? setting?.flag ?? key
                let shown = setting?.secret == true ? "***"
                    : ProcessInfo.processInfo.environment[named].map { "'\($0)'" } ?? "the value given"
                throw CLIError("\(named): expected \(expected), not \(shown)")
            }
        }
    }

    /// What every setting read so far is, and where it came from, in the catalog's order.
    func readings() -> [(setting: Setting, value: ConfigContent?, origin: Origin)] {
        SettingsCatalog.all.compactMap { setting in
            if setting.kind == .map {
                let count = setting.key == "headers" ? file?.maps.headers.count ?? 0 : file?.maps.prices.count ?? 0
                let origin: Origin = count > 0
                    ? .file(path: file?.path ?? "", key: setting.key, line: file?.lines[setting.key]) : .default
                return (setting, count > 0 ? .string("\(count) entr\(count == 1 ? "y" : "ies")") : nil, origin)
            }
            guard let event = recorder.event(for: setting.key) else { return nil }
            let value = try? event.result.get()?.content
            return (setting, value, origin(setting.key, event))
        }
    }
}

/// Keeps the last access of each key, for origins and `triage config`.
final class AccessRecorder: AccessReporter {
    private let accesses = Mutex<[String: AccessEvent]>([:])

    func report(_ event: AccessEvent) {
        accesses.withLock { $0[event.metadata.key.components.joined(separator: ".")] = event }
    }

    func event(for key: String) -> AccessEvent? { accesses.withLock { $0[key] } }

    var events: [(String, AccessEvent)] { accesses.withLock { $0.map { ($0.key, $0.value) } } }
}

/// A command's own `--taxonomy` flag (`import`, `label`), as the `taxonomy` setting.
struct TaxonomyFlag: SettingFlags {
    var path: String?

    var settings: [String: ConfigContent] { path.map { ["taxonomy": .string($0)] } ?? [:] }
}

extension TriageConfig {
    /// The taxonomy the settings name, or `nil` when they name none (labels are then not checked).
    func taxonomyIfNamed() throws -> Taxonomy? {
        try build(ClassifierSettings.taxonomyPath).map { try Taxonomy.load(contentsOf: URL(fileURLWithPath: $0)) }
    }
}
