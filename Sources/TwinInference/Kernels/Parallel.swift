// Role: work splitting over the render's thread budget (`parallelFor`).
// Determinism: callers split work into items whose results do not depend on which thread runs
// them or how many threads there are (fixed tiles, fixed reduction order per item), so a render
// is bit-identical for every thread count.
// Dispatch: a parallel region runs on `SpinPool`, helper threads that spin for a short while
// after each region before they sleep, so the ~40 regions of a 128x128 decoder pass (one per
// conv) start in well under a microsecond each instead of waking libdispatch workers every
// time. A region that finds the pool busy (a nested call, or a second renderer on another
// thread) falls back to `DispatchQueue.concurrentPerform`; the split into items is the same.
// Reference: OpenMP-style spin-then-block worker pools (as in OpenBLAS's and ggml's thread pools).
// Failure modes: none thrown; a nested or concurrent region runs on concurrentPerform instead
// of waiting for the pool, so regions cannot deadlock each other.

import Dispatch
import Foundation
import Synchronization

/// Runs `body(worker, item)` for every item in `0..<items`, spread over at most `threads`
/// workers in contiguous chunks; `worker` (0..<threads) selects per-worker scratch memory.
@inline(__always)
func parallelFor(_ items: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
    let workers = min(max(threads, 1), items)
    if workers <= 1 {
        for i in 0..<items { body(0, i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let chunk: (Int) -> Void = { w in
            let lo = w * items / workers, hi = (w + 1) * items / workers
            for i in lo..<hi { body(w, i) }
        }
        if SpinPool.shared.run(workers: workers, chunk) { return }
        let box = UncheckedBox(chunk)
        DispatchQueue.concurrentPerform(iterations: workers) { w in box.value(w) }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; safe because every worker writes
/// disjoint memory and the call returns only after all workers finish.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Persistent helper threads for `parallelFor`. The caller runs worker 0 itself; helper i runs
/// worker i. Helpers are started on first use, as many as the largest region needed.
final class SpinPool: @unchecked Sendable {
    static let shared = SpinPool()

    /// Spin iterations (atomic loads) a helper waits for the next region before sleeping.
    private static let spinLimit = 200_000

    private let busy = Atomic<Bool>(false)
    /// Region sequence number * 256 + the region's worker count (so a helper that is not part
    /// of a region never reads a later region's state).
    private let generation = Atomic<Int>(0)
    private let remaining = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let condition = NSCondition()
    private var helpers = 0                 // only changed by the caller holding `busy`
    private var job: ((Int) -> Void)? = nil // published by the `generation` store

    /// Runs `chunk(0..<workers)` with worker 0 on this thread; false (nothing run) if the pool
    /// is busy, so the caller must run the region another way.
    func run(workers: Int, _ chunk: @escaping (Int) -> Void) -> Bool {
        guard workers < 256, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        let start = generation.load(ordering: .relaxed)
        while helpers < workers - 1 {
            helpers += 1
            let index = helpers
            let thread = Thread { [unowned self] in self.helperLoop(index: index, seen: start) }
            thread.name = "twin-worker-\(index)"
            thread.start()
        }
        job = chunk
        remaining.store(workers - 1, ordering: .relaxed)
        condition.lock()
        generation.store((((start >> 8) + 1) << 8) | workers, ordering: .releasing)
        if sleepers.load(ordering: .relaxed) > 0 { condition.broadcast() }
        condition.unlock()
        chunk(0)
        while remaining.load(ordering: .acquiring) > 0 {}
        job = nil
        busy.store(false, ordering: .releasing)
        return true
    }

    private func helperLoop(index: Int, seen start: Int) {
        var seen = start
        while true {
            var spins = 0
            var current = generation.load(ordering: .acquiring)
            while current == seen {
                spins += 1
                if spins >= SpinPool.spinLimit {
                    condition.lock()
                    sleepers.add(1, ordering: .relaxed)
                    while generation.load(ordering: .acquiring) == seen { condition.wait() }
                    sleepers.subtract(1, ordering: .relaxed)
                    condition.unlock()
                    spins = 0
                }
                current = generation.load(ordering: .acquiring)
            }
            seen = current
            if index < current & 255 {
                runJob(index)
                remaining.subtract(1, ordering: .releasing)
            }
        }
    }

    /// Runs the published job for worker `index`. A separate, non-inlined call so that this
    /// helper's reference to the closure is gone before it reports done: the caller may leave
    /// `withoutActuallyEscaping` as soon as `remaining` reaches 0, and a closure still
    /// referenced then is a runtime trap in checked builds.
    @inline(never)
    private func runJob(_ index: Int) {
        job?(index)
    }
}
