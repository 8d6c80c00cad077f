// Work splitting over the render's thread budget.
//
// Determinism: callers split work into items whose results do not depend on which thread runs
// them or how many threads there are (fixed tiles, fixed reduction order per item), so a render
// is bit-identical for every thread count.

import Dispatch

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
        let box = UncheckedBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * items / workers, hi = (w + 1) * items / workers
            for i in lo..<hi { box.value(w, i) }
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; safe because every worker writes
/// disjoint memory and the call returns only after all workers finish.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
