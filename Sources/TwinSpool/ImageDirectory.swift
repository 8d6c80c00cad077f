// Role: the delivery protocol's file names in an output directory that is not a spool's `out/`
// (the fleet's shared image directory): where this process stages image `index` of a job
// (`.<job>-<index>.png~<host>~<pid>.partial`), where it is delivered (`<job>-<index>.png`), and
// which staged files a host left there. The same names as the spool's `out/`, so one reader
// (`twinrender verify`, an operator's `ls`) understands both.
// Reference: Spool+Recovery.swift (the spool's own staged images); docs/fleet.md (delivery).
// Failure modes: a directory that cannot be listed throws `SpoolError`; names that do not parse,
// and entries that are not regular files, are not listed.

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An output directory shared by render hosts, with the spool's staging and delivery names.
public struct ImageDirectory: Sendable {
    /// The directory.
    public let url: URL
    /// This host (staged names carry it, so hosts never touch each other's staged files).
    public let host: String
    /// This process.
    public let pid: Int32

    /// The names of `url` as `host`'s process `pid` uses them.
    public init(url: URL, host: String, pid: Int32 = getpid()) {
        self.url = url; self.host = host; self.pid = pid
    }

    /// Where this process stages image `index` of `job`: `.<job>-<index>.png~<host>~<pid>.partial`.
    public func stagingImageURL(job: String, index: Int) -> URL {
        url.appendingPathComponent(JobFileName.Staged(image: Spool.imageName(job: job, index: index), host: host, pid: pid).name)
    }

    /// Where image `index` of `job` is delivered: `<job>-<index>.png`.
    public func finalImageURL(job: String, index: Int) -> URL {
        url.appendingPathComponent(Spool.imageName(job: job, index: index))
    }

    /// The staged images `host` (this host) left, from any of its processes.
    public func stagedByThisHost() throws -> [StagedImage] {
        try SpoolFiles.names(in: url.path).compactMap { raw -> StagedImage? in
            guard let name = raw.string, let staged = JobFileName.Staged(name), staged.host == host,
                  let (job, index) = Spool.parseImageName(staged.image),
                  let info = try SpoolFiles.lstatEntry(url.path, raw), SpoolFiles.type(info) == S_IFREG else { return nil }
            return StagedImage(url: url.appendingPathComponent(name), image: staged.image, job: job, index: index,
                               finalURL: url.appendingPathComponent(staged.image), host: staged.host, pid: staged.pid)
        }
    }
}
