import Foundation

extension Array where Element: Sendable {
    /// `transform` over the elements on every core, in their order: for work that is all processor, on many
    /// elements (each core takes a contiguous share, and no share is under `minimumShare`).
    public func concurrentMap<U: Sendable>(
        minimumShare: Int = 100, _ transform: @escaping @Sendable (Element) -> U
    ) async -> [U] {
        let parts = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / Swift.max(1, minimumShare)))
        guard parts > 1 else { return map(transform) }
        let size = (count + parts - 1) / parts
        return await withTaskGroup(of: (Int, [U]).self) { group in
            for part in 0..<parts {
                let share = self[Swift.min(count, part * size)..<Swift.min(count, (part + 1) * size)]
                group.addTask { (part, share.map(transform)) }
            }
            var results = [[U]](repeating: [], count: parts)
            for await (part, mapped) in group { results[part] = mapped }
            return results.flatMap { $0 }
        }
    }
}
