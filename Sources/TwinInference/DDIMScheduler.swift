// Role: the DDIM sampler step (eta = 0): x_prev = c_x x + c_e eps, with
//   c_x = sqrt(a_prev)/sqrt(a),  c_e = sqrt(1 - a_prev) - sqrt(a_prev) sqrt(1 - a)/sqrt(a),
//   a_prev = 1 after the last step.
// Reference: Song et al. 2021 (DDIM); exactly twinnet.ddim_sample (scripts/reference/twinnet.py),
// checked against its fixtures (render_ddim.safetensors).
// Failure modes: none at run time; `i` must index `timesteps` (the renderer's loop guarantees it).

import Foundation

struct DDIMScheduler: Scheduler {
    let timesteps: [Int]
    private let alphas: [Double]

    init(schedule: NoiseSchedule, steps: Int) {
        timesteps = schedule.timesteps(steps: steps)
        alphas = schedule.alphasCumprod
    }

    mutating func step(_ i: Int, x: UnsafeMutablePointer<Float>, eps: UnsafePointer<Float>, count: Int) {
        let a = alphas[timesteps[i]]
        let aPrev = i + 1 < timesteps.count ? alphas[timesteps[i + 1]] : 1.0
        let cx = Float(aPrev.squareRoot() / a.squareRoot())
        let ce = Float((1 - aPrev).squareRoot() - aPrev.squareRoot() * (1 - a).squareRoot() / a.squareRoot())
        for j in 0..<count { x[j] = cx * x[j] + ce * eps[j] }
    }
}
