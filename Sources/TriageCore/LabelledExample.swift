import Crypto
import Foundation

/// A query whose right labels are known: what retrieval shows the model as a worked example, and what evaluation
/// scores against. Only `category` is required; many labelled sets have nothing else.
public struct LabelledExample: Sendable, Hashable, Codable {
    public var text: String
    public var category: String
    public var priority: String?
    public var sentiment: String?

    public init(text: String, category: String, priority: String? = nil, sentiment: String? = nil) {
        self.text = text
        self.category = category
        self.priority = priority
        self.sentiment = sentiment
    }
}

extension Array where Element == LabelledExample {
    /// A short hash of the examples' content, recorded with each classification like the taxonomy's version: two pools
    /// with the same examples in the same order share it.
    public var contentVersion: String {
        var hasher = SHA256()
        for example in self {
            for field in [example.text, example.category, example.priority ?? "", example.sentiment ?? ""] {
                hasher.update(data: Data(field.utf8))
                hasher.update(data: Data([0]))
            }
        }
        return hasher.finalize().prefix(6).hexDigits
    }
}
