// Role: sharpens a lattice-derived geometry before a second read: the autocorrelation peak of a
// recompressed copy is pulled by JPEG's 8-pixel block grid, and a 0.5 % error in the tile's
// scale already drifts the fold by a cell across a small image.
// Reference: coarse-to-fine local search on the synchronisation correlation (the template
// matching step of Pereira and Pun, "Robust template matching for affine resistant image
// watermarks", IEEE TIP 2000); docs/watermark.md ("Geometry refinement") has the measurements.
// Failure modes: none: returns nil when the sync correlation at the estimate is too weak to be
// worth sharpening (an unmarked image, mostly) or when no nearby geometry scores higher.

import Foundation

/// Local refinement of a geometry candidate on the sync correlation.
enum WatermarkRefinement {
    /// Best sync score (standard deviations) at the estimate below which nothing is refined: an
    /// unmarked tile's best peak over the eight orientations sits at about 3.5-4.3.
    static let minimumScore = 5.0
    /// Relative steps of the axis lengths tried, coarse to fine: ±2 steps of the first, ±1 of
    /// the next, around the best so far (24 + 8 trials).
    static let steps = [0.005, 0.0025]
    /// Side of the central window of the residual the trials fold (their cost does not grow
    /// with the image).
    static let window = 128

    /// `candidate` with its two axis lengths adjusted (within ±1.25 %) to where the sync
    /// correlation peaks highest, for the orientation and key that peak highest at `candidate`;
    /// nil when that peak is under `minimumScore` or nothing nearby beats it.
    static func refined(_ candidate: WatermarkGeometry.Candidate, residual: WatermarkResidual,
                        aligners: [WatermarkAligner]) -> WatermarkGeometry.Candidate? {
        let window = residual.central(Self.window)
        let folded = WatermarkAligner.fold(window, inverse: candidate.inverse)
        var orientation = TileOrientation.all[0], aligner = aligners[0], bestScore = -Double.infinity
        for trial in TileOrientation.all {
            let oriented = trial.undo(folded)
            for each in aligners {
                let score = each.syncPeaks(oriented, count: 1).first?.score ?? -.infinity
                if score > bestScore { (bestScore, orientation, aligner) = (score, trial, each) }
            }
        }
        guard bestScore >= minimumScore else { return nil }
        var best = candidate, improved = false
        for (round, step) in steps.enumerated() {
            let reach = round == 0 ? 2 : 1
            let centre = best
            for i in -reach...reach {
                for j in -reach...reach where i != 0 || j != 0 {
                    var trial = centre
                    trial.axisX *= 1 + Double(i) * step
                    trial.axisY *= 1 + Double(j) * step
                    let tile = orientation.undo(WatermarkAligner.fold(window, inverse: trial.inverse))
                    let score = aligner.syncPeaks(tile, count: 1).first?.score ?? -.infinity
                    if score > bestScore { (bestScore, best, improved) = (score, trial, true) }
                }
            }
        }
        return improved ? best : nil
    }
}
