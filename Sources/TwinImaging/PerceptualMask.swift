// Role: where the invisible watermark may be strong: a per-pixel amplitude weight that grows
// with the picture's local texture, so the mark hides in fabric, hair and edges and stays faint
// on flat backgrounds, where grain shows. An experiment, off by default
// (`InvisibleWatermark.Configuration.perceptualMask`, `watermark embed --masked`): measured, it
// meets "flat RMS ≤ busy RMS" but loses JPEG 30 and crop + scale + JPEG robustness.
// Reference: noise-visibility-function masking (Voloshynovskiy et al., "A stochastic approach to
// content adaptive digital image watermarking", 1999): visibility falls with local variance as
// σ² / (σ² + θ); docs/watermark.md ("Perceptual mask") has the measurements.
// Failure modes: none; images smaller than the filters' support are not given (the watermark
// needs 64x64). IEEE +, -, *, / only, in a fixed order: the same luma gives the same weights.

import Foundation

/// Amplitude weights for the watermark, one per pixel, from the original picture's luma.
///
/// The texture measure is the detector's own (`WatermarkResidual`): the residual after a 5x5
/// mean, its energy σ² averaged over 7x7. The weight is `flat + (textured - flat) · σ² / (σ² +
/// halfVisibility)`: `flat` on a background with no texture, halfway at σ² = `halfVisibility`,
/// approaching `textured` on busy areas; then a box mean of radius `smoothing`, so the mark's
/// strength does not jump at a figure's outline. The embedder scales the mark by these weights
/// and keeps its total energy (the PSNR) where it was: energy moves, it is not added.
enum PerceptualMask {
    /// Weight on a perfectly flat area.
    static let flat = 1.0
    /// Weight approached on strongly textured areas. The closed loop's gradient is several times
    /// larger on flat areas than on busy ones (the detector's whitening divides by σ² + 9), and a
    /// step moves the mark by weight² times it, so the busy weight must be large for the mark to
    /// stay in the texture: on the test renders 3 left flat-area RMS at 1.7× busy, 5 at 1.2×,
    /// 9 at 0.71× (`PerceptualMaskTests`).
    static let textured = 9.0
    /// Local residual energy (grey levels²) at which the weight is halfway.
    static let halfVisibility = 9.0
    /// Radius of the box mean that smooths the weights.
    static let smoothing = 3

    /// Weights for a `width` x `height` luma plane (row-major).
    static func weights(luma: [Double], width: Int, height: Int) -> [Double] {
        let mean = BoxFilter.apply(luma, width: width, height: height, radius: WatermarkResidual.radius)
        var squared = [Double](repeating: 0, count: luma.count)
        for index in luma.indices {
            let residual = luma[index] - mean[index]
            squared[index] = residual * residual
        }
        var weights = BoxFilter.apply(squared, width: width, height: height, radius: WatermarkResidual.energyRadius)
        for index in weights.indices {
            let variance = weights[index]
            weights[index] = flat + (textured - flat) * variance / (variance + halfVisibility)
        }
        return BoxFilter.apply(weights, width: width, height: height, radius: smoothing)
    }
}
