// Role: `twinrender serve`: load the config and run the daemon.
// Failure modes: a start-up failure exits 1 naming the step (`daemon.start_failed`).

import ArgumentParser
import Foundation
import TwinDaemon

/// `twinrender serve`: run the daemon.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the render daemon on the configured queue (the spool directory, or the fleet database).",
        discussion: "SIGTERM/SIGINT stop claiming and let a running render finish within the grace period; SIGHUP reloads config and consent registry.")

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Drain the queue, then exit 0.")
    var once = false

    func run() async throws {
        let config = try options.load()
        do {
            let daemon = try Daemon(config: config, configPath: options.path, once: once)
            try await daemon.run()
        } catch let error as DaemonStartError {
            FileHandle.standardError.write(Data("twinrender: cannot start: \(error.description)\n".utf8))
            throw ExitCode(2)
        }
    }
}
