import Configuration

/// A setting's value cannot be used: its key (as the config file names it) and what is wrong, in words a person can
/// act on. The command line names where the value came from (a flag, a variable, the file).
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let problem: String

    public init(_ key: String, _ problem: String) {
        self.key = key
        self.problem = problem
    }

    public var description: String { "\(key): \(problem)" }
}

extension ConfigReader {
    /// An integer setting within `range`, or `defaultValue` when no source sets it.
    /// - Throws: ``ConfigurationError`` naming the key when the value is outside `range`.
    public func int(_ key: String, default defaultValue: Int, in range: ClosedRange<Int>,
                    fileID: String = #fileID, line: UInt = #line) throws -> Int {
        let value = int(forKey: ConfigKey(key), default: defaultValue, fileID: fileID, line: line)
        guard range.contains(value) else { throw ConfigurationError(key, Self.range(range, value)) }
        return value
    }

    /// An optional integer setting within `range`.
    public func int(_ key: String, in range: ClosedRange<Int>, fileID: String = #fileID, line: UInt = #line) throws
        -> Int? {
        let value = int(forKey: ConfigKey(key), fileID: fileID, line: line)
        if let value, !range.contains(value) { throw ConfigurationError(key, Self.range(range, value)) }
        return value
    }

    /// A number setting, at least `minimum` (more than it, with `exclusive`).
    public func double(_ key: String, default defaultValue: Double, minimum: Double, exclusive: Bool = false,
                       fileID: String = #fileID, line: UInt = #line) throws -> Double {
        let value = double(forKey: ConfigKey(key), default: defaultValue, fileID: fileID, line: line)
        try Self.check(key, value, minimum: minimum, exclusive: exclusive)
        return value
    }

    /// An optional number setting, at least `minimum` (more than it, with `exclusive`), at most `maximum`.
    public func double(_ key: String, minimum: Double, exclusive: Bool = false, maximum: Double = .infinity,
                       fileID: String = #fileID, line: UInt = #line) throws -> Double? {
        guard let value = double(forKey: ConfigKey(key), fileID: fileID, line: line) else { return nil }
        try Self.check(key, value, minimum: minimum, exclusive: exclusive)
        if value > maximum { throw ConfigurationError(key, "must be at most \(Self.number(maximum)), not \(Self.number(value))") }
        return value
    }

    /// A setting naming one of `Value`'s cases.
    /// - Throws: ``ConfigurationError`` listing the names it may be.
    public func choice<Value: RawRepresentable & CaseIterable>(_ key: String, fileID: String = #fileID,
                                                              line: UInt = #line) throws -> Value?
        where Value.RawValue == String {
        guard let text = string(forKey: ConfigKey(key), fileID: fileID, line: line) else { return nil }
        guard let value = Value(rawValue: text) else {
            throw ConfigurationError(key, "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), "
                                     + "not '\(text)'")
        }
        return value
    }

    /// A setting naming one of `Value`'s cases, or `defaultValue` when no source sets it.
    public func choice<Value: RawRepresentable & CaseIterable>(_ key: String, default defaultValue: Value,
                                                              fileID: String = #fileID, line: UInt = #line) throws
        -> Value where Value.RawValue == String {
        let text = string(forKey: ConfigKey(key), default: defaultValue.rawValue, fileID: fileID, line: line)
        guard let value = Value(rawValue: text) else {
            throw ConfigurationError(key, "must be one of \(Value.allCases.map(\.rawValue).joined(separator: ", ")), "
                                     + "not '\(text)'")
        }
        return value
    }

    private static func check(_ key: String, _ value: Double, minimum: Double, exclusive: Bool) throws {
        if exclusive ? !(value > minimum) : !(value >= minimum) {
            throw ConfigurationError(key, "must be \(exclusive ? "more than" : "at least") \(number(minimum)), "
                                     + "not \(number(value))")
        }
    }

    private static func range(_ range: ClosedRange<Int>, _ value: Int) -> String {
        if range.upperBound == .max { return "must be at least \(range.lowerBound), not \(value)" }
        return "must be from \(range.lowerBound) to \(range.upperBound), not \(value)"
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
