import Foundation

/// Overlaps producing bytes with writing them: the caller fills a buffer while a writer thread
/// writes the previous ones to `output`, in order. Memory stays at `slots` buffers.
///
/// `output` belongs to the writer thread until `finish` returns; the caller must not touch it.
final class WriteBehind: @unchecked Sendable {
    private let output: OutputFile
    private let buffers: [UnsafeMutableRawBufferPointer]
    private let free: DispatchSemaphore
    private let queue = DispatchQueue(label: "moe-ckpt.write-behind")
    private let failure = FirstError()
    private var next = 0

    init(output: OutputFile, slots: Int = 2, slotBytes: Int) {
        self.output = output
        buffers = (0..<max(slots, 1)).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: max(slotBytes, 1), alignment: 64) }
        free = DispatchSemaphore(value: buffers.count)
    }

    deinit {
        queue.sync {}
        for buffer in buffers { buffer.deallocate() }
    }

    /// Waits for a free buffer, lets `fill` write into it and return how many bytes it wrote,
    /// and queues them for writing. Rethrows a failed earlier write.
    func withSlot(_ fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        free.wait()
        let buffer = buffers[next % buffers.count]
        next += 1
        let count: Int
        do {
            try failure.rethrow()
            count = try fill(buffer)
        } catch {
            free.signal()
            throw error
        }
        let slot = SharedBuffer(buffer)
        // The block must not own `self`: if the caller drops it after a failed write while a
        // block is queued, `deinit` would run on this queue and wait for the queue itself.
        let writer = Writer(output: output)
        queue.async { [failure, free] in
            do {
                try writer.output.write(UnsafeRawBufferPointer(rebasing: slot.buffer[0..<count]))
            } catch {
                failure.record(error)
            }
            free.signal()
        }
    }

    /// The output, handed to the writer thread (which alone touches it until `finish`).
    private struct Writer: @unchecked Sendable {
        let output: OutputFile
    }

    /// Waits until every queued buffer is written; rethrows the first write error.
    func finish() throws {
        queue.sync {}
        try failure.rethrow()
    }
}
