import Foundation

/// The directories under a spool root. A job's state is the directory it is in; every state
/// change is one `rename(2)` between two of these (all on one file system).
public struct SpoolLayout: Sendable {
    /// The spool root.
    public let root: URL

    public init(root: URL) { self.root = root }

    /// Writers stage new job files here, then rename them into `incoming/`.
    public var tmp: URL { root.appendingPathComponent("tmp") }
    /// Jobs waiting to be claimed.
    public var incoming: URL { root.appendingPathComponent("incoming") }
    /// Jobs being rendered; the name says which host and process holds them.
    public var active: URL { root.appendingPathComponent("active") }
    /// Jobs whose images were all delivered.
    public var done: URL { root.appendingPathComponent("done") }
    /// Jobs that could not be rendered (too many interrupted attempts, render errors).
    public var failed: URL { root.appendingPathComponent("failed") }
    /// Jobs refused before delivery (invalid file, unknown twin, no consent).
    public var rejected: URL { root.appendingPathComponent("rejected") }
    /// Delivered images.
    public var out: URL { root.appendingPathComponent("out") }
    /// Daemon state files read by `twinrender status`.
    public var state: URL { root.appendingPathComponent("state") }

    /// Every directory, in creation order.
    public var all: [URL] { [tmp, incoming, active, done, failed, rejected, out, state] }

    /// Directories whose file counts `status` reports.
    public var queueDirectories: [(name: String, url: URL)] {
        [("incoming", incoming), ("active", active), ("done", done), ("failed", failed), ("rejected", rejected), ("out", out)]
    }

    /// Creates missing directories (mode 0775 so a group of submitters can write `tmp/` and `incoming/`).
    public func create() throws {
        for dir in [root] + all {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o775])
            } catch {
                throw SpoolError("cannot create spool directory \(dir.path): \(error.localizedDescription)")
            }
        }
    }
}
