// Role: the directories under a spool root, their modes, and the start-up permission check.
// Reference: Postfix's queue directories (owned by the mail system, a setgid `maildrop` for
// submitters); notqmail `INTERNALS.md` (one directory per state, `rename` between them).
// Failure modes: a missing directory is created with its exact mode (umask ignored); one the
// daemon owns with a different mode is FIXED (set to the exact mode, reported as a
// `PermissionFix` for the log); one owned by root is accepted when it is not looser (group- or
// world-writable where it must not be, or missing the sticky bit); one owned by any other user,
// a symlink, or a non-directory is REFUSED: start-up stops with `SpoolError` naming path, mode
// and the fix. A writer (`SpoolAccess.writer`) never changes anything and refuses looser modes.
//
// Permission model
// ----------------
// Three kinds of users touch a spool:
//   * the daemon user (e.g. `twinrender`) owns the root and every directory below it;
//   * spool writers: members of the spool's group (e.g. `twinspool`; give the root that group and
//     `chmod g+s` it so new directories inherit it) may submit jobs;
//   * readers of delivered images: the same group, or a named group given read access to the
//     root and `out/` with a POSIX ACL (`setfacl -m g:readers:rx <spool> <spool>/out`).
//
//   directory    mode    daemon       group (writers/readers)         others
//   <root>       0750    rwx          traverse                        nothing
//   tmp/         1770    rwx          create files; sticky: a writer can remove only its own
//   incoming/    1770    rwx          rename into it (link+unlink); sticky as above
//   out/         0750    rwx          read delivered images           nothing
//   active/ done/ failed/ rejected/ state/
//                0700    rwx          nothing                         nothing
//
// So a writer can stage in `tmp/` and rename into `incoming/`, but cannot delete or rename another
// writer's job (sticky bit), cannot touch jobs once claimed, results, reasons, quota reservations
// or the ledger of deliveries (`state/`), and cannot delete or replace delivered images. The
// daemon removes stale `tmp/` files and moves `incoming/` files of any owner because it owns those
// directories. Job files need to be readable by the daemon (writers create them 0644 or 0640).
// `twinrender status` reads `state/`, so it runs as the daemon user (or root).
//
// Locks: a claimed job is proven alive by an exclusive `flock` its process holds on the file in
// `active/`; `state/claim.lock` serialises moves into and out of `active/`. Both work across
// processes and across hosts (containers) sharing one local file system. On NFS, Linux emulates
// `flock` with whole-file POSIX locks forwarded to the server (NLM on NFSv3, built into NFSv4), so
// they work across clients if the mount has locking (no `nolock`, no `local_lock=flock|all`);
// with local-only locks every host would see another host's live jobs as unlocked, so such a
// spool must set `recoverOtherHosts: false`. An NFSv4 client that loses its lease (partition
// longer than the lease time) loses its locks silently: another host may then requeue its job;
// the ledger's idempotent event ids keep that from charging twice.

import Foundation
import TwinBase
#if canImport(Glibc)
import Glibc
#endif

/// Who opens the spool.
public enum SpoolAccess: Sendable {
    /// The daemon: creates missing directories, sets exact modes on directories it owns, refuses
    /// ones it cannot fix.
    case daemon
    /// A job writer (`twinrender submit` run by a member of the spool group): creates nothing,
    /// changes nothing; checks that `tmp/` and `incoming/` exist and are safe to write into.
    case writer
}

/// A directory whose mode the daemon changed at start.
public struct PermissionFix: Sendable, Equatable, CustomStringConvertible {
    /// The directory.
    public let path: String
    /// Mode found (permission bits with setgid/sticky).
    public let from: mode_t
    /// Mode set.
    public let to: mode_t

    /// `<path>: mode <from> -> <to>` (octal), for the log.
    public var description: String { "\(path): mode \(String(from, radix: 8)) -> \(String(to, radix: 8))" }
}

/// The directories under a spool root. A job's state is the directory it is in; every state
/// change is one `rename(2)` between two of these (all on one file system).
public struct SpoolLayout: Sendable {
    /// The spool root.
    public let root: URL

    /// The layout under `root`; touches nothing on disk (see `prepare(access:)`).
    public init(root: URL) { self.root = root }

    /// Writers stage new job files here, then rename them into `incoming/`.
    public var tmp: URL { root.appendingPathComponent("tmp") }
    /// Jobs waiting to be claimed.
    public var incoming: URL { root.appendingPathComponent("incoming") }
    /// Jobs being rendered; the name says which host and process holds them, its `flock` proves it.
    public var active: URL { root.appendingPathComponent("active") }
    /// Jobs whose images were all delivered.
    public var done: URL { root.appendingPathComponent("done") }
    /// Jobs that could not be rendered (too many interrupted attempts, render errors).
    public var failed: URL { root.appendingPathComponent("failed") }
    /// Jobs refused before delivery (invalid file, unknown twin, no consent, duplicate id).
    public var rejected: URL { root.appendingPathComponent("rejected") }
    /// Delivered images.
    public var out: URL { root.appendingPathComponent("out") }
    /// Daemon state: status files, quota reservations, registry head, `claim.lock`.
    public var state: URL { root.appendingPathComponent("state") }
    /// The spool-wide claim lock.
    var claimLock: URL { state.appendingPathComponent("claim.lock") }

    /// Every directory, in creation order.
    public var all: [URL] { [tmp, incoming, active, done, failed, rejected, out, state] }

    /// Directories whose file counts `status` reports.
    public var queueDirectories: [(name: String, url: URL)] {
        [("incoming", incoming), ("active", active), ("done", done), ("failed", failed), ("rejected", rejected), ("out", out)]
    }

    /// The exact mode each directory must have (see the permission model in this file's header).
    public var requiredModes: [(url: URL, mode: mode_t)] {
        [(root, 0o750), (tmp, 0o1770), (incoming, 0o1770), (out, 0o750),
         (active, 0o700), (done, 0o700), (failed, 0o700), (rejected, 0o700), (state, 0o700)]
    }

    /// Creates missing directories with their modes and fixes or refuses wrong ones (daemon).
    @discardableResult
    public func create() throws -> [PermissionFix] { try prepare(access: .daemon) }

    /// Checks the directories for `access`; returns the modes the daemon changed.
    @discardableResult
    public func prepare(access: SpoolAccess) throws -> [PermissionFix] {
        switch access {
        case .daemon:
            return try requiredModes.compactMap { try prepareDaemonDirectory($0.url.path, mode: $0.mode) }
        case .writer:
            for (url, mode) in requiredModes where [root, tmp, incoming].contains(url) {
                try checkWriterDirectory(url.path, mode: mode)
            }
            return []
        }
    }

    private func prepareDaemonDirectory(_ path: String, mode: mode_t) throws -> PermissionFix? {
        guard let info = try Self.lstatDirectory(path) else {
            do { try DurableFile.makeDirectory(path, mode: mode) } catch {
                throw SpoolError(error, context: "cannot create spool directory (mode \(String(mode, radix: 8)))")
            }
            return nil
        }
        let found = info.st_mode & 0o7777
        if info.st_uid == geteuid() {
            guard found != mode else { return nil }
            guard chmod(path, mode) == 0 else {
                throw SpoolError(SystemCallError("chmod \(String(mode, radix: 8))", path), context: "cannot fix the spool directory's mode")
            }
            return PermissionFix(path: path, from: found, to: mode)
        }
        if info.st_uid == 0, !Self.isLooser(found, than: mode) { return nil }
        throw SpoolError("spool directory \(path) (mode \(String(found, radix: 8)), required \(String(mode, radix: 8))) belongs to uid \(info.st_uid), not this daemon (uid \(geteuid())), so its owner could change its mode at any time: `chown` it to the daemon user")
    }

    private func checkWriterDirectory(_ path: String, mode: mode_t) throws {
        guard let info = try Self.lstatDirectory(path) else {
            throw SpoolError("spool directory \(path) does not exist: start the daemon once to create the spool")
        }
        let found = info.st_mode & 0o7777
        if Self.isLooser(found, than: mode) {
            throw SpoolError("spool directory \(path) has mode \(String(found, radix: 8)), looser than the required \(String(mode, radix: 8)); refusing to submit into it")
        }
    }

    /// `lstat` of a spool directory: nil when missing; throws when it is a symlink or not a
    /// directory (a symlinked `out/` could deliver images anywhere).
    static func lstatDirectory(_ path: String) throws -> stat? {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return nil }
            throw SpoolError(SystemCallError("lstat", path), context: "cannot check spool directory")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw SpoolError("spool directory \(path) is not a directory (a symlink or a file); replace it with a real directory")
        }
        return info
    }

    /// Whether `found` lets group or others write where `required` does not, or lacks a sticky
    /// bit that `required` has.
    static func isLooser(_ found: mode_t, than required: mode_t) -> Bool {
        if found & 0o022 & ~required != 0 { return true }
        return required & S_ISVTX != 0 && found & S_ISVTX == 0
    }
}
