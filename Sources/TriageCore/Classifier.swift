import Foundation

/// One classification to perform: the query and which attempt this is.
public struct ClassificationRequest: Sendable {
    public var id: QueryID
    public var query: SupportQuery
    /// 1 for the first attempt.
    public var attempt: Int

    public init(id: QueryID, query: SupportQuery, attempt: Int) {
        self.id = id
        self.query = query
        self.attempt = attempt
    }
}

/// Something that classifies support queries: an LLM over HTTP, or the mock used by the demo and tests.
public protocol Classifier: Sendable {
    /// The taxonomy whose labels every classification uses.
    var taxonomy: Taxonomy { get }

    /// Classifies one query.
    /// - Throws: ``ClassifierError``; its ``ClassifierError/scope`` tells the caller whether to retry the query,
    ///   fail it, or stop the run. `CancellationError` when the task is cancelled.
    func classify(_ request: ClassificationRequest) async throws -> Classification

    /// What an answer depends on besides the query's text (model, taxonomy version, example pool), for reusing the
    /// answer to an identical query; `nil` when answers must not be reused.
    var reuseScope: String? { get }
}

extension Classifier {
    public var reuseScope: String? { nil }
}
