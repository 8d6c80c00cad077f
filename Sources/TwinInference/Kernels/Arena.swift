// Role: bump allocator for activations. A pass allocates from it freely and resets it at the
// end; after the first pass of a given shape it holds one chunk big enough, so later passes make
// no heap allocation at all.
// Reference: llama2.c's RunState (scratch allocated once, `forward` allocates nothing).
// Failure modes: none thrown; allocation failure traps like any Swift allocation. Memory from
// `alloc` is invalid after `reset()`. Not thread-safe: one per workspace.

/// Float scratch memory with stack-like reset. Not thread-safe: one per `Renderer`.
final class Arena {
    private var chunks: [UnsafeMutableBufferPointer<Float>] = []
    private var used = 0            // floats used in the last chunk
    private var total = 0           // floats handed out since the last reset, over all chunks
    /// Largest number of floats one pass has needed so far.
    private(set) var highWater = 0

    init(capacity: Int = 0) {
        if capacity > 0 { chunks = [.allocate(capacity: capacity)] }
    }

    deinit { for c in chunks { c.deallocate() } }

    /// `count` floats (rounded up to 16 for alignment), valid until the next `reset()`. Contents are undefined.
    func alloc(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = (count + 15) & ~15
        total += n
        highWater = max(highWater, total)
        if let last = chunks.last, used + n <= last.count {
            defer { used += n }
            return last.baseAddress! + used
        }
        let chunk = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(n, (chunks.last?.count ?? 0) * 2, 1 << 16))
        chunks.append(chunk)
        used = n
        return chunk.baseAddress!
    }

    /// `count` zeroed floats.
    func zeros(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = alloc(count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// Frees every allocation; if the pass overflowed into several chunks, keeps one chunk as
    /// large as the high-water mark so the next pass fits.
    func reset() {
        if chunks.count > 1 {
            for c in chunks { c.deallocate() }
            chunks = [.allocate(capacity: highWater)]
        }
        used = 0
        total = 0
    }

    /// Bytes currently reserved.
    var reservedBytes: Int { chunks.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.size }
}
