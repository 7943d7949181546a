/// RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks.
enum CSVParser {
    struct Row {
        /// The line the row starts on, from 1.
        var line: Int
        var fields: [String]
    }

    static func parse(_ text: String, file: String) throws -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field = ""
        var line = 1
        var rowStart = 1
        var inQuotes = false
        var quotedFieldStartLine = 1
        var iterator = text.makeIterator()
        var pending: Character?

        func endRow() {
            fields.append(field)
            rows.append(Row(line: rowStart, fields: fields))
            fields = []
            field = ""
        }

        while let char = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if char == "\"" {
                    let next = iterator.next()
                    if next == "\"" {
                        field.append("\"")
                    } else {
                        inQuotes = false
                        pending = next
                    }
                } else {
                    if char.isNewline { line += 1 }
                    field.append(char)
                }
                continue
            }
            switch char {
            case "\"" where field.isEmpty:
                inQuotes = true
                quotedFieldStartLine = line
            case ",":
                fields.append(field)
                field = ""
            case "\n", "\r\n", "\r":
                endRow()
                line += 1
                rowStart = line
            default:
                field.append(char)
            }
        }
        if inQuotes {
            throw ImportError(file: file, location: "line \(quotedFieldStartLine)",
                              message: "a quoted field is never closed")
        }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}
