import Foundation

/// Runs independent pieces of work (one expert each) on as many workers as there are cores,
/// each worker with its own widening scratch. Results are written by index, and the caller
/// combines them in a fixed order, so the output never depends on scheduling.
enum ParallelExperts {
    /// A pointer handed to workers that write disjoint ranges of it.
    struct SharedBuffer: @unchecked Sendable {
        let base: UnsafeMutablePointer<Float>
    }

    /// Hands out the next index, and keeps the first error.
    private final class Queue: @unchecked Sendable {
        private let lock = NSLock()
        private var next = 0
        private(set) var error: Error?
        let count: Int

        init(count: Int) { self.count = count }

        func take() -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard error == nil, next < count else { return nil }
            next += 1
            return next - 1
        }

        func fail(_ error: Error) {
            lock.lock()
            if self.error == nil { self.error = error }
            lock.unlock()
        }
    }

    /// Calls `body(i, &scratch)` for every `i` in `0..<count`, in parallel; rethrows the first error.
    static func forEach(_ count: Int, _ body: @Sendable (Int, inout WeightFloats) throws -> Void) throws {
        let workers = max(1, min(count, ProcessInfo.processInfo.activeProcessorCount))
        let queue = Queue(count: count)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            var scratch = WeightFloats()
            while let i = queue.take() {
                do { try body(i, &scratch) } catch { queue.fail(error) }
            }
        }
        if let error = queue.error { throw error }
    }
}
