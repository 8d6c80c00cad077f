// Role: the daemon's counters and recent jobs (in progress, delivered, failed), for heartbeats,
// the state file and throughput.
// Failure modes: none; guarded by a lock.

import Foundation

/// Counters and recent history behind `heartbeat` lines and the state file.
final class DaemonStats: @unchecked Sendable {
    struct InProgress: Codable, Equatable {
        var job: String
        var attempt: Int
        var image: Int
        var images: Int
        var step: Int
        var steps: Int
        var startedAt: Date
    }

    struct Finished: Codable, Equatable {
        var job: String
        var at: Date
        var code: String?
        var images: Int
        var seconds: Double
    }

    private let lock = NSLock()
    let startedAt = Date()
    private var inProgress: [String: InProgress] = [:]
    private var delivered: [Finished] = []
    private var failed: [Finished] = []
    private var completions: [(at: Date, images: Int)] = []
    private(set) var jobsDelivered = 0
    private(set) var imagesDelivered = 0
    private(set) var jobsFailed = 0
    private(set) var jobsRejected = 0

    func started(_ job: String, attempt: Int, images: Int, steps: Int) {
        lock.withLock { inProgress[job] = InProgress(job: job, attempt: attempt, image: 0, images: images, step: 0, steps: steps, startedAt: Date()) }
    }

    func progress(_ job: String, image: Int, step: Int) {
        lock.withLock {
            inProgress[job]?.image = image
            inProgress[job]?.step = step
        }
    }

    func finished(_ job: String, outcome: JobOutcome) {
        lock.withLock {
            let started = inProgress.removeValue(forKey: job)?.startedAt ?? Date()
            let seconds = Date().timeIntervalSince(started)
            switch outcome {
            case .delivered(let images):
                jobsDelivered += 1
                imagesDelivered += images
                completions.append((Date(), images))
                delivered = Array((delivered + [Finished(job: job, at: Date(), code: nil, images: images, seconds: seconds)]).suffix(10))
            case .failed(let code):
                jobsFailed += 1
                failed = Array((failed + [Finished(job: job, at: Date(), code: code, images: 0, seconds: seconds)]).suffix(10))
            case .rejected(let code):
                jobsRejected += 1
                failed = Array((failed + [Finished(job: job, at: Date(), code: code, images: 0, seconds: seconds)]).suffix(10))
            case .requeued, .deferred, .released:
                break
            }
        }
    }

    /// Jobs and images delivered per minute over the last `window` seconds (or since start, if shorter).
    func throughput(window: Double = 600) -> (jobs: Double, images: Double) {
        lock.withLock {
            let now = Date()
            completions.removeAll { now.timeIntervalSince($0.at) > window }
            let span = max(1, min(window, now.timeIntervalSince(startedAt))) / 60
            return (Double(completions.count) / span, Double(completions.reduce(0) { $0 + $1.images }) / span)
        }
    }

    func snapshot() -> (inProgress: [InProgress], delivered: [Finished], failed: [Finished]) {
        lock.withLock { (inProgress.values.sorted { $0.startedAt < $1.startedAt }, delivered, failed) }
    }
}

/// Resident set size now and at peak, from `/proc/self/status` (bytes).
func memoryUsage() -> (rss: Int, peak: Int) {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    func kib(_ key: String) -> Int {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
        return (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0) * 1024
    }
    return (kib("VmRSS:"), kib("VmHWM:"))
}
