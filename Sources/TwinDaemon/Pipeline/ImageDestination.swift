// Role: what image production needs to know of a job and of where its images go, whichever queue
// the job came from: the job's id and arrival (recorded in the XMP and the C2PA claim, so a
// re-render reproduces the bytes), and the directory's staging and delivery names — the spool's
// `out/`, or the fleet's shared image directory.
// Failure modes: none (names only).

import Foundation
import TwinSpool

/// A job as its images record it.
struct JobIdentity: Sendable {
    /// The job id (the images' names and event ids are made from it).
    let id: String
    /// When the job was queued: the images' creation time.
    let arrival: Date
}

extension ClaimedJob {
    /// This spool job as its images record it.
    var identity: JobIdentity { JobIdentity(id: id, arrival: arrival) }
}

/// Where a job's images are staged (fsynced, not yet delivered) and delivered.
protocol ImageDestination: Sendable {
    /// This process's staging file for image `index` of `job`.
    func stagingImageURL(job: String, index: Int) -> URL
    /// The delivered image `index` of `job`.
    func finalImageURL(job: String, index: Int) -> URL
}

extension Spool: ImageDestination {}
extension ImageDirectory: ImageDestination {}
