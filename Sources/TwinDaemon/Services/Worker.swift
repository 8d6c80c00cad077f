// Role: one render worker: claims the next job, runs it through the pipeline on its own thread,
// repeats; stops claiming on graceful shutdown.
// Reference: swift-service-lifecycle graceful shutdown; README "Spool" (shutdown).
// Failure modes: a spool error while claiming is a `spool.error` line and the worker waits for
// the next wake-up; a render is stopped after the grace period and its job released.

import Foundation
import ServiceLifecycle
import TwinInference
import TwinSpool

/// One render worker: claims the next job, runs it through the pipeline on its own thread,
/// repeats. On graceful shutdown it stops claiming; a render in progress may finish within the
/// grace period, after which it is stopped and its job put back in `incoming/` untouched.
/// With `once`, it returns when the queue has nothing left for it.
final class Worker: @unchecked Sendable {
    private let index: Int
    private let context: PipelineContext
    private let wake: WakeSignal
    private let once: Bool
    private let processor: JobProcessor

    init(index: Int, context: PipelineContext, wake: WakeSignal, once: Bool) {
        self.index = index
        self.context = context
        self.wake = wake
        self.once = once
        self.processor = JobProcessor(context: context, renderer: Renderer(model: context.model, threads: context.config.blasThreads))
    }

    func run() async throws {
        let stopping = Locked(false)
        try await withGracefulShutdownHandler {
            while !stopping.get() && !Task.isCancelled {
                let seen = wake.current
                let claimed: ClaimedJob?
                do {
                    claimed = try context.spool.claimNext { reason in
                        self.context.log.event("job.rejected", level: .notice, job: reason.job, ["code": .string(reason.code), "reason": .string(reason.message)])
                        self.context.stats.finished(reason.job, outcome: .rejected(code: reason.code))
                    }
                } catch {
                    context.log.event("spool.error", level: .error, ["error": .string("\(error)")])
                    claimed = nil
                }
                guard let job = claimed else {
                    if once { return }
                    await wake.wait(after: seen)
                    continue
                }
                try await render(job)
            }
        } onGracefulShutdown: {
            stopping.set(true)
            self.wake.signal()
        }
    }

    /// Runs one job; a shutdown during it starts the grace-period timer.
    private func render(_ job: ClaimedJob) async throws {
        let cancel = CancelFlag()
        let processor = self.processor
        let grace = context.config.gracePeriod
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                _ = await runOnThread(name: "render-\(index)") { [processor] in
                    processor.process(job, cancel: cancel)
                }
            } onGracefulShutdown: {
                DispatchQueue.global().asyncAfter(deadline: .now() + grace) { cancel.cancel() }
            }
        } onCancel: {
            cancel.cancel()
        }
    }
}

extension JobProcessor: @unchecked Sendable {}

/// Runs `workers.count` workers; returns when all have returned (with `once`, when the queue is
/// drained), which shuts the whole daemon down gracefully.
struct WorkerPoolService: Service {
    let workers: [Worker]

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in workers {
                group.addTask { try await worker.run() }
            }
            try await group.waitForAll()
        }
    }
}
