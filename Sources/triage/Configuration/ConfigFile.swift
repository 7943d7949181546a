import Configuration
import Foundation
import TriageCore
import TriageLLM
import Yams

/// The optional config file (YAML, or JSON, which YAML reads too): every setting the catalog lets a file hold, at
/// the top level, and `triage serve`'s under `server`. Read once, checked whole — an unknown key, or a value of the
/// wrong kind, is an error naming the file, its line and the key — then offered to the ``ConfigReader`` as one
/// layer, below the flags and the environment.
struct ConfigFile: Sendable {
    /// The file as it was given.
    let path: String
    /// Each setting's value, typed as its setting's kind.
    let values: [AbsoluteConfigKey: ConfigValue]
    /// Where each key was set in the file.
    let lines: [String: Int]
    /// The maps a reader cannot list: `headers` and `prices`.
    let maps: ClassifierSettings.FileMaps

    /// Reads and checks the file.
    /// - Throws: ``CLIError`` naming the file (and the line and key) of the first problem.
    static func load(_ path: String) throws -> ConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CLIError("\(path): cannot read the config file")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw CLIError("\(path): not valid YAML or JSON (\(error))")
        }
        var reading = Reading(path: path)
        if let root {
            guard let mapping = root.mapping else {
                throw CLIError("\(path): expected a mapping of settings at the top level")
            }
            try reading.read(mapping, prefix: "")
        }
        return ConfigFile(path: path, values: reading.values, lines: reading.lines, maps: reading.maps)
    }

    /// The layer as a provider.
    var provider: InMemoryProvider { InMemoryProvider(name: "file", values: values) }

    private struct Reading {
        let path: String
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        var lines: [String: Int] = [:]
        var maps = ClassifierSettings.FileMaps()

        func problem(_ node: Node, _ key: String, _ message: String) -> CLIError {
            CLIError("\(path), line \(node.mark?.line ?? 0), key '\(key)': \(message)")
        }

        mutating func read(_ mapping: Node.Mapping, prefix: String) throws {
            for (keyNode, value) in mapping {
                guard let name = keyNode.string else { throw problem(keyNode, "?", "a key must be a name") }
                let key = prefix + name
                if prefix.isEmpty, name == "server" {
                    guard let section = value.mapping else {
                        throw problem(value, key, "expected a mapping of server settings")
                    }
                    try read(section, prefix: "server.")
                    continue
                }
                guard let setting = SettingsCatalog.byKey[key], setting.inFile else {
                    let known = SettingsCatalog.all
                        .filter { $0.inFile && $0.key.hasPrefix(prefix) && !$0.key.dropFirst(prefix.count).contains(".") }
                        .map { String($0.key.dropFirst(prefix.count)) }
                    let hint = SettingsCatalog.byKey[key].map { _ in "it may be set only in the environment" }
                        ?? "known keys\(prefix.isEmpty ? "" : " under server"): "
                            + (known + (prefix.isEmpty ? ["server"] : [])).joined(separator: ", ")
                    throw problem(keyNode, key, "unknown key (\(hint))")
                }
                lines[key] = keyNode.mark?.line
                if setting.kind == .map {
                    try readMap(value, setting: setting)
                } else if let content = try content(value, setting: setting) {
                    values[AbsoluteConfigKey(key.split(separator: ".").map(String.init))] =
                        ConfigValue(content, isSecret: setting.secret)
                }
            }
        }

        func content(_ node: Node, setting: Setting) throws -> ConfigContent? {
            if node.null != nil { return nil }
            func expected(_ what: String) -> CLIError {
                problem(node, setting.key, "expected \(what), not '\(node.string ?? "a \(describe(node))")'")
            }
            switch setting.kind {
            case .string:
                guard node.scalar != nil, let text = node.string else { throw expected("a string") }
                return .string(text)
            case .int:
                guard let number = node.int else { throw expected("a whole number") }
                return .int(number)
            case .double:
                guard let number = node.float ?? node.int.map(Double.init) else { throw expected("a number") }
                return .double(number)
            case .bool:
                guard let flag = node.bool else { throw expected("true or false") }
                return .bool(flag)
            case .list:
                if let sequence = node.sequence {
                    return .stringArray(try sequence.map { item in
                        guard item.scalar != nil, let text = item.string else { throw expected("a list of strings") }
                        return text
                    })
                }
                guard node.scalar != nil, let text = node.string else { throw expected("a list of strings") }
                return .stringArray([text])
            case .map:
                return nil
            }
        }

        mutating func readMap(_ node: Node, setting: Setting) throws {
            guard let mapping = node.mapping else { throw problem(node, setting.key, "expected a mapping") }
            switch setting.key {
            case "headers":
                for (name, value) in mapping {
                    guard let name = name.string, value.scalar != nil, let text = value.string else {
                        throw problem(value, setting.key, "expected header names with string values")
                    }
                    maps.headers[name] = text
                }
            default:
                for (name, value) in mapping {
                    guard let name = name.string else { throw problem(value, setting.key, "expected model names") }
                    do {
                        maps.prices[name] = try YAMLDecoder().decode(LLMConfiguration.Price.self,
                                                                    from: try Yams.serialize(node: value))
                    } catch let error as DecodingError {
                        throw problem(value, "\(setting.key).\(name)", error.readableDescription)
                    }
                }
            }
        }

        func describe(_ node: Node) -> String {
            switch node {
            case .mapping: "mapping"
            case .sequence: "list"
            case .scalar: "value"
            }
        }
    }
}
