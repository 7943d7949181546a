import Foundation

extension QueryStore {
    /// Streams every query matching `filter` in id order, one page at a time, so memory stays flat.
    public func export(_ filter: QueryFilter = QueryFilter(), pageSize: Int = 500) -> QueryExport {
        QueryExport(store: self, filter: filter, pageSize: pageSize)
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

/// The queries a filter selects, in id order, read a page at a time as they are consumed, with one page read ahead:
/// a slow consumer (an export to a slow reader) holds two pages, whatever the store's size.
public struct QueryExport: AsyncSequence, Sendable {
    public typealias Element = QueryRecord

    let store: any QueryStore
    let filter: QueryFilter
    let pageSize: Int

    public struct AsyncIterator: AsyncIteratorProtocol {
        let store: any QueryStore
        let filter: QueryFilter
        let pageSize: Int
        var page: [QueryRecord] = []
        var index = 0
        var finished = false
        /// The page after this one, already being read while this one is consumed (one page ahead, no more).
        var ahead: Task<[QueryRecord], any Error>?

        public mutating func next() async throws -> QueryRecord? {
            if index == page.count {
                guard !finished else { return nil }
                try Task.checkCancellation()
                page = try await (ahead ?? fetch(after: page.last?.id)).value
                index = 0
                finished = page.count < pageSize
                ahead = finished ? nil : fetch(after: page.last?.id)
                guard !page.isEmpty else { return nil }
            }
            defer { index += 1 }
            return page[index]
        }

        private func fetch(after cursor: QueryID?) -> Task<[QueryRecord], any Error> {
            let (store, filter, pageSize) = (store, filter, pageSize)
            return Task { try await store.list(filter, after: cursor, limit: pageSize) }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(store: store, filter: filter, pageSize: pageSize)
    }
}
