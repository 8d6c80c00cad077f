// Role: the daemon's services when `queue.backend = "postgres"`: the render
// workers on the fleet queue (FleetWorker driving FleetJobRunner), LISTEN/NOTIFY wake-ups, the
// host's housekeeping (heartbeat row and the rescuer of expired leases) and, when
// `queue.ingest_directory` is set, the ingest of dropped job files — each a
// swift-service-lifecycle `Service` that ends on graceful shutdown.
// Reference: BackgroundServices.swift and Worker.swift (the spool's services); docs/fleet.md.
// Failure modes: a database outage degrades the daemon (`queue.unavailable`, health `queue`)
// and every database step is retried with backoff, nothing dropped; a render in progress at
// shutdown may finish within `daemon.grace_period_seconds`, then it is stopped and its job
// released; a lease lost during a render stops it (the commit would be refused anyway).

import Foundation
import ServiceLifecycle
import TwinFleet

/// `daemon.workers` render workers on the fleet queue; with `once`, each returns when a claim
/// finds the queue empty.
struct FleetRenderService: Service {
    let worker: FleetWorker
    let runners: [FleetJobRunner]
    let staged: StagedClaims
    let context: PipelineContext
    let once: Bool

    func run() async throws {
        let stopping = Locked(false)
        let graceOver = CancelFlag()
        let grace = context.config.gracePeriod
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for runner in runners {
                    group.addTask { [worker, once] in
                        await worker.run(untilEmpty: once, shouldStop: { stopping.get() }, onEvent: report) { claim, lease in
                            await Self.work(claim, runner: runner, lease: lease, graceOver: graceOver)
                        }
                    }
                }
            }
        } onGracefulShutdown: {
            stopping.set(true)
            worker.wake.signal()
            DispatchQueue.global().asyncAfter(deadline: .now() + grace) { graceOver.cancel() }
        }
    }

    /// Runs one claim; its render is stopped once the lease is lost or the grace period is over.
    private static func work(_ claim: FleetClaim, runner: FleetJobRunner, lease: FleetWorkContext,
                             graceOver: CancelFlag) async -> FleetWorkResult {
        let cancel = CancelFlag()
        let watcher = Task {
            while !Task.isCancelled {
                if lease.isLeaseLost || graceOver.isCancelled { cancel.cancel(); return }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { watcher.cancel() }
        return await runner.work(claim, cancel: cancel)
    }

    /// The worker's events as status lines; a claim that ends without this host's commit loses
    /// its staged files.
    private func report(_ event: FleetWorkerEvent) {
        switch event {
        case .claimed:
            break
        case .delivered:
            context.health.cleared("queue")
        case .ended(let claim, let state):
            staged.discard(claim)
            context.health.cleared("queue")
            context.log.event("job.ended", job: claim.job, ["state": .string(state), "generation": .int(Int(claim.generation))])
        case .fenced(let claim, let error):
            staged.discard(claim)
            context.log.event("job.fenced", level: .warning, job: claim.job,
                              ["generation": .int(Int(claim.generation)), "reason": .string("\(error)"),
                               "effect": .string("another host holds the job now; nothing of this claim was delivered")])
        case .failed(let claim, let why):
            staged.discard(claim)
            context.log.event("queue.error", level: .error, job: claim.job, ["error": .string(why)])
        case .databaseUnavailable(let why):
            _ = context.health.degraded("queue", code: "queue.unavailable", reason: why, deferrals: 0)
        }
    }
}

/// LISTEN/NOTIFY wake-ups (reconnecting with backoff); polling stays the source of truth.
struct FleetWakeupService: Service {
    let database: FleetDatabase
    let wake: FleetWakeSignal

    func run() async throws {
        try? await cancelWhenGracefulShutdown { await FleetWakeups(database: database).run(onWake: { wake.signal() }) }
    }
}

/// The host's heartbeat row and the rescuer of expired leases, every half lease.
struct FleetHousekeepingService: Service {
    let housekeeping: FleetHousekeeping
    let wake: FleetWakeSignal
    let log: StatusLog

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            await housekeeping.run(wake: wake) { moved in
                for (job, state) in moved {
                    log.event("job.lease_expired", level: .warning, job: job,
                              ["state": .string(state), "effect": .string("its host stopped renewing the lease; the job is claimable again")])
                }
            }
        }
    }
}

/// Moves job files dropped into `queue.ingest_directory`'s `incoming/` into the database,
/// exactly once (insert, commit, then move the file aside), every poll interval.
struct FleetIngestService: Service {
    let ingest: FleetIngest
    let interval: Duration
    let log: StatusLog

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let scan = try await ingest.scan()
                for id in scan.queued { log.event("job.ingested", job: id, ["directory": .string(ingest.root.path)]) }
                for (name, code) in scan.rejected.sorted(by: { $0.key < $1.key }) {
                    log.event("job.rejected", level: .notice, ["file": .string(name), "code": .string(code), "stage": .string("ingest")])
                }
            } catch {
                log.event("queue.ingest_error", level: .warning, ["error": .string("\(error)"), "retry": .string("next poll")])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
