// Role: per-renderer scratch state: the activation arena, one im2col buffer per worker, and the
// thread budget. Allocated once and reused; after the first pass of a shape nothing is allocated.
// Reference: llama2.c's RunState (scratch `State` allocated once, separate from the weights).
// Failure modes: a thread budget below 1 is a programming error (`precondition`). Not
// thread-safe: one per renderer or per concurrent latent.

/// Scratch memory and thread budget for one renderer. Allocated once and reused; after the
/// first pass of a shape nothing is allocated.
final class Workspace {
    /// Workers used by `parallelFor` (the renderer's thread budget).
    let threads: Int
    /// Whether Winograd splits even small images into several groups (fixed per workspace, so
    /// results stay thread-independent): on for the decoder's workspace, whose batch-1 16x16
    /// stage would otherwise run on one worker; off for the denoiser's single-latent ones.
    let splitsSmallImages: Bool
    /// Activations of the current pass.
    let arena: Arena
    private var columns: [UnsafeMutableBufferPointer<Float>]
    private var output: UnsafeMutableBufferPointer<Float> = .allocate(capacity: 0)

    init(threads: Int, splitsSmallImages: Bool = false) {
        precondition(threads >= 1, "threads must be >= 1")
        self.threads = threads
        self.splitsSmallImages = splitsSmallImages
        arena = Arena()
        columns = []
        BLASThreads.configure()
    }

    deinit {
        for c in columns { c.deallocate() }
        output.deallocate()
    }

    /// Makes sure the output buffer (a pass result that must outlive arena resets) holds `count` floats.
    func reserveOutput(_ count: Int) {
        if output.count >= count { return }
        output.deallocate()
        output = .allocate(capacity: count)
    }

    /// The output buffer (valid after `reserveOutput`).
    var outputBuffer: UnsafeMutablePointer<Float> { output.baseAddress! }

    /// Makes sure every worker's column buffer holds `count` floats (call before `parallelFor`).
    func reserveColumns(_ count: Int) {
        if columns.count == threads, columns[0].count >= count { return }
        for c in columns { c.deallocate() }
        columns = (0..<threads).map { _ in .allocate(capacity: count) }
    }

    /// Worker `worker`'s column buffer (valid after `reserveColumns`).
    func columnBuffer(_ worker: Int) -> UnsafeMutablePointer<Float> { columns[worker].baseAddress! }

    /// Bytes held by the arena and column buffers.
    var reservedBytes: Int { arena.reservedBytes + (columns.reduce(0) { $0 + $1.count } + output.count) * 4 }
}
