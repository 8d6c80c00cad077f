// Role: the DPM-Solver++(2M) sampler step (data prediction, multistep order 2):
//   x0 = (x - s_t eps) / a_t;  last step: x = x0;  first step: D = x0,
//   else D = (1 + 1/(2r)) x0 - 1/(2r) x0_prev with r = h_prev / h;
//   x = (s_n / s_t) x - a_n (exp(-h) - 1) D,  h = lambda_n - lambda_t, lambda = log(a / s).
// Reference: Lu et al. 2022; exactly twinnet.dpmpp_2m_sample / diffusers'
// DPMSolverMultistepScheduler with lower_order_final (fixture render_dpm.safetensors).
// Failure modes: a latent size other than the one it was built for is a programming error
// (`precondition`); nothing is thrown.

import Foundation

struct DPMSolver2MScheduler: Scheduler {
    let timesteps: [Int]
    private let alphas: [Double]
    private var prevX0: [Float]
    private var x0: [Float]
    private var prevH: Double? = nil

    init(schedule: NoiseSchedule, steps: Int, count: Int) {
        timesteps = schedule.timesteps(steps: steps)
        alphas = schedule.alphasCumprod
        prevX0 = [Float](repeating: 0, count: count)
        x0 = [Float](repeating: 0, count: count)
    }

    mutating func step(_ i: Int, x: UnsafeMutablePointer<Float>, eps: UnsafePointer<Float>, count: Int) {
        precondition(count == x0.count)
        let t = timesteps[i]
        let at = alphas[t].squareRoot(), st = (1 - alphas[t]).squareRoot()
        // Float division by a_t as PyTorch does for a scalar divisor: multiply by its reciprocal.
        let sF = Float(st), invA = 1 / Float(at)
        for j in 0..<count { x0[j] = (x[j] - sF * eps[j]) * invA }
        if i + 1 == timesteps.count {
            for j in 0..<count { x[j] = x0[j] }
            return
        }
        let tn = timesteps[i + 1]
        let an = alphas[tn].squareRoot(), sn = (1 - alphas[tn]).squareRoot()
        let h = log(an / sn) - log(at / st)
        let cx = Float(sn / st), cd = Float(an * (exp(-h) - 1))
        if let prevH {
            let r = prevH / h
            let c0 = Float(1 + 1 / (2 * r)), c1 = Float(1 / (2 * r))
            for j in 0..<count { x[j] = cx * x[j] - cd * (c0 * x0[j] - c1 * prevX0[j]) }
        } else {
            for j in 0..<count { x[j] = cx * x[j] - cd * x0[j] }
        }
        swap(&prevX0, &x0)
        prevH = h
    }
}
