import Foundation
import TriageCore

/// Reads labelled examples — `text` and `category`, optionally `priority` and `sentiment` — from JSON, JSONL or CSV,
/// all or nothing, with the same file/line/field errors as imports. With a taxonomy, every label must be one of its
/// names. Other fields (an `externalId`, an `intent`) are ignored.
public enum ExampleFileReader {
    public static func read(path: String, format: QueryFileFormat? = nil,
                            taxonomy: Taxonomy? = nil) throws -> [LabelledExample] {
        try RecordFile.read(path: path, format: format, what: "examples") { value, file, location in
            try example(from: value, file: file, location: location, taxonomy: taxonomy)
        }
    }

    public static func parse(_ data: Data, format: QueryFileFormat, file: String,
                             taxonomy: Taxonomy? = nil) throws -> [LabelledExample] {
        try RecordFile.parse(data, format: format, file: file, what: "examples") { value, file, location in
            try example(from: value, file: file, location: location, taxonomy: taxonomy)
        }
    }

    private static func example(from value: JSONValue, file: String, location: String,
                                taxonomy: Taxonomy?) throws -> LabelledExample {
        let fields = try RecordFields(value, file: file, location: location)
        guard let text = try fields.string("text"), SupportQuery(text: text).hasText else {
            throw fields.fail("text", fields.object["text"] == nil ? "is missing" : "must not be empty")
        }
        guard let category = try fields.label(["category"], allowed: taxonomy?.categoryNames) else {
            throw fields.fail("category", "is missing")
        }
        return LabelledExample(text: text, category: category,
                               priority: try fields.label(["priority"], allowed: taxonomy?.priorityNames),
                               sentiment: try fields.label(["sentiment"], allowed: taxonomy?.sentimentNames))
    }
}
