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
        // Each share is mapped straight into its place of one buffer, then moved into the array: tens of thousands
        // of results are neither copied nor retained again to be joined.
        let buffer = SharedBuffer<U>(capacity: count)
        await withTaskGroup(of: Void.self) { group in
            for part in 0..<parts {
                let start = Swift.min(count, part * size)
                let share = self[start..<Swift.min(count, (part + 1) * size)]
                group.addTask {
                    for (offset, element) in share.enumerated() { buffer.initialize(start + offset, to: transform(element)) }
                }
            }
        }
        return buffer.moveIntoArray()
    }
}

/// Memory that concurrent tasks initialise at disjoint indices: ``Array/concurrentMap(minimumShare:_:)`` writes
/// each index once, from one task, and reads the whole only after every task has ended.
private final class SharedBuffer<U>: @unchecked Sendable {
    private let base: UnsafeMutablePointer<U>
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    func initialize(_ index: Int, to value: U) {
        (base + index).initialize(to: value)
    }

    /// The elements, moved out: the buffer is empty afterwards.
    func moveIntoArray() -> [U] {
        Array(unsafeUninitializedCapacity: capacity) { destination, initialized in
            destination.baseAddress?.moveInitialize(from: base, count: capacity)
            initialized = capacity
        }
    }

    deinit {
        base.deallocate()
    }
}
