import TriageCore

/// Builds test queries with distinct texts and external ids.
public func sampleQueries(_ count: Int, prefix: String = "query") -> [SupportQuery] {
    (1...max(count, 1)).prefix(count).map { index in
        SupportQuery(text: "\(prefix) \(index): my order has not arrived", externalId: "\(prefix)-\(index)")
    }
}
