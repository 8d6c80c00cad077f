// Role: `twinrender status`: queue counts and every daemon's state file, as text or JSON; with
// `queue.backend = "postgres"`, the fleet view from the database (FleetStatus).
// Failure modes: unreadable state files are skipped.

import ArgumentParser
import Foundation
import TwinDaemon
import TwinSpool

/// `twinrender status`: queue counts and what the daemons on this spool are doing, from the
/// state files they rewrite (works while they run and after they stopped).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show queue counts, jobs in progress, recent results and throughput.")

    @OptionGroup var options: ConfigOptions

    @Option(help: "Spool directory (default: from the config).")
    var spool: String?

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        if spool == nil, let config = try? options.load(), config.queue.backend == .postgres {
            try await FleetSubmit.printStatus(options: options, json: json)
            return
        }
        let root: URL
        if let spool {
            root = URL(fileURLWithPath: spool)
        } else {
            root = try options.load().spoolDirectory
        }
        let layout = SpoolLayout(root: root)
        guard FileManager.default.fileExists(atPath: layout.incoming.path) else {
            throw ValidationError("\(root.path) is not a spool (no incoming/)")
        }
        var queue: [String: Int] = [:]
        for (name, url) in layout.queueDirectories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            queue[name] = names.filter { !$0.hasPrefix(".") && !$0.hasSuffix(".reason.json") && !$0.hasSuffix(".result.json") }.count
        }
        let daemons = DaemonState.readAll(spool: layout)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            encoder.dateEncodingStrategy = .iso8601
            encoder.keyEncodingStrategy = .convertToSnakeCase
            struct Report: Encodable { var spool: String; var queue: [String: Int]; var daemons: [DaemonState] }
            print(String(decoding: try encoder.encode(Report(spool: root.path, queue: queue, daemons: daemons)), as: UTF8.self))
            return
        }
        print("spool \(root.path)")
        print("  " + ["incoming", "active", "done", "failed", "rejected", "out"].map { "\($0) \(queue[$0] ?? 0)" }.joined(separator: "  "))
        if daemons.isEmpty { print("no daemon has written state here yet") }
        for d in daemons {
            let age = Int(Date().timeIntervalSince(d.updatedAt))
            print("\(d.host) pid \(d.pid): \(d.running ? "running" : "stopped"), model \(d.model), updated \(age)s ago")
            print(String(format: "  delivered %d jobs / %d images, failed %d, rejected %d; %.2f jobs/min, %.2f images/min; RSS %.1f MiB (peak %.1f)",
                         d.jobsDelivered, d.imagesDelivered, d.jobsFailed, d.jobsRejected, d.jobsPerMinute, d.imagesPerMinute,
                         Double(d.rssBytes) / 1_048_576, Double(d.peakRssBytes) / 1_048_576))
            for (name, why) in (d.degraded ?? [:]).sorted(by: { $0.key < $1.key }) { print("  DEGRADED \(name): \(why)") }
            for j in d.inProgress {
                print(String(format: "  rendering %@ image %d/%d step %d/%d, %.1fs", j.job, (j.image ?? 0) + 1, j.images ?? 1, j.step ?? 0, j.steps ?? 0, j.elapsedSeconds ?? 0))
            }
            if let last = d.lastDelivered.last { print("  last delivered: \(last.job) (\(last.images ?? 0) images)") }
            if let last = d.lastFailed.last { print("  last failed/rejected: \(last.job) (\(last.code ?? "?"))") }
        }
    }
}
