import Foundation
import GRDB
import GRDBSQLite
import TriageCore

/// A value bound straight into an SQLite statement, one C call each.
///
/// For the classified write: it has more than twenty arguments, and GRDB validates and copies those one by one
/// through existentials, several microseconds a row on the store's one writer.
enum BoundValue: Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// A classification field's value as SQLite keeps it: dates as Unix seconds, flags as 0 or 1, lists and counts
    /// as JSON (counts with sorted keys).
    init(_ value: Classification.StoredValue?) {
        switch value {
        case .text(let text)?: self = .text(text)
        case .real(let number)?: self = .real(number)
        case .integer(let number)?: self = .integer(Int64(number))
        case .flag(let flag)?: self = .integer(flag ? 1 : 0)
        case .date(let date)?: self = .real(date.timeIntervalSince1970)
        case .list(let items)?: self = Self.json(try? JSONEncoder().encode(items))
        case .counts(let counts)?: self = Self.json(try? Self.sortedEncoder.encode(counts))
        case nil: self = .null
        }
    }

    private static func json(_ data: Data?) -> BoundValue {
        data.map { .text(String(decoding: $0, as: UTF8.self)) } ?? .null
    }

    private static let sortedEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
}

/// SQLite copies what is bound with it before the call returns.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

extension Statement {
    /// Executes the statement with `values` bound to its arguments in order.
    func execute(binding values: [BoundValue]) throws {
        precondition(values.count == Int(sqlite3_bind_parameter_count(sqliteStatement)),
                     "one value per argument of \(sql)")
        // Clears what an earlier failed step left, so that GRDB's own reset succeeds; then GRDB takes the statement
        // as bound with no arguments of its own, and executes what is bound here.
        sqlite3_reset(sqliteStatement)
        setUncheckedArguments(StatementArguments())
        for (index, value) in zip(CInt(1)..., values) {
            let code = switch value {
            case .null: sqlite3_bind_null(sqliteStatement, index)
            case .integer(let number): sqlite3_bind_int64(sqliteStatement, index, number)
            case .real(let number): sqlite3_bind_double(sqliteStatement, index, number)
            case .text(let text): sqlite3_bind_text(sqliteStatement, index, text, -1, transient)
            }
            guard code == SQLITE_OK else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "binding argument \(index)",
                                    sql: sql)
            }
        }
        try execute()
    }
}
