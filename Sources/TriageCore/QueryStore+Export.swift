import Foundation

extension QueryStore {
    /// Streams every query matching `filter` in id order, one page at a time, so memory stays flat.
    public func export(_ filter: QueryFilter = QueryFilter(), pageSize: Int = 500) -> AsyncThrowingStream<QueryRecord, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var cursor: QueryID?
                    while !Task.isCancelled {
                        let page = try await list(filter, after: cursor, limit: pageSize)
                        for record in page { continuation.yield(record) }
                        guard page.count == pageSize, let last = page.last else { break }
                        cursor = last.id
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The store's queries whose right labels are known (``QueryRecord/knownLabels``) as labelled examples: the pool
    /// `--examples store` shows the model, and what `triage eval` scores.
    public func labelledExamples() async throws -> [LabelledExample] {
        var examples: [LabelledExample] = []
        for try await record in export(QueryFilter(labelled: true)) {
            if let known = record.knownLabels { examples.append(known) }
        }
        return examples
    }
}
