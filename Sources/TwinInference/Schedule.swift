// Role: the noise schedule: 'scaled_linear' betas -> alphas_cumprod (Double), and 'trailing'
// timesteps for a step count.
// Reference: Stable Diffusion's schedule and diffusers' timestep_spacing="trailing", exactly
// twinnet.alphas_cumprod and twinnet.timesteps (scripts/reference/twinnet.py).
// Failure modes: none; the manifest check guarantees train_timesteps >= 2 and request
// validation 1 <= steps <= train_timesteps.

import Foundation

/// alphas_cumprod over the training timesteps, in Double.
struct NoiseSchedule: Sendable {
    let alphasCumprod: [Double]

    var trainTimesteps: Int { alphasCumprod.count }

    /// betas = linspace(sqrt(b0), sqrt(b1), T)^2 (numpy's linspace: start + i*step, last = stop).
    init(trainTimesteps t: Int, betaStart: Double, betaEnd: Double) {
        let start = pow(betaStart, 0.5), stop = pow(betaEnd, 0.5)
        let step = (stop - start) / Double(t - 1)
        var acc = 1.0
        var out = [Double](repeating: 0, count: t)
        for i in 0..<t {
            let r = i == t - 1 ? stop : Double(i) * step + start
            acc *= 1.0 - r * r
            out[i] = acc
        }
        alphasCumprod = out
    }

    /// 'trailing' spacing: t_i = round(T - i*T/steps) - 1 (half to even, like Python), descending.
    func timesteps(steps: Int) -> [Int] {
        let t = Double(trainTimesteps)
        return (0..<steps).map { i in Int((t - Double(i * trainTimesteps) / Double(steps)).rounded(.toNearestOrEven)) - 1 }
    }
}
