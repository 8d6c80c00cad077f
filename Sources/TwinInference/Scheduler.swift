// Role: the sampler interface: the renderer evaluates guided epsilon at `timesteps[i]` and hands
// it to `step`, which updates the latent in place. Schedule scalars are Double, cast to Float
// per step, like twinnet's samplers.
// Reference: apple/ml-stable-diffusion's `Scheduler` protocol, one file per scheduler.
// Failure modes: none (an unknown sampler name is rejected where it is parsed).

/// Which sampler a request uses. Raw values are the names used in model.json and jobs.
public enum Sampler: String, Sendable, CaseIterable {
    /// DDIM, eta = 0 (twinnet.ddim_sample).
    case ddim = "ddim"
    /// DPM-Solver++(2M), lower-order final step (twinnet.dpmpp_2m_sample).
    case dpmSolver2M = "dpmpp-2m"
}

/// A deterministic multistep sampler over a fixed timestep list.
protocol Scheduler {
    /// Descending training timesteps the denoiser is evaluated at.
    var timesteps: [Int] { get }
    /// x <- update(x, eps) for step `i` (0-based) over `count` elements.
    mutating func step(_ i: Int, x: UnsafeMutablePointer<Float>, eps: UnsafePointer<Float>, count: Int)
}

/// Builds the scheduler for `sampler` (buffers sized for `count` latent elements).
func makeScheduler(_ sampler: Sampler, schedule: NoiseSchedule, steps: Int, count: Int) -> any Scheduler {
    switch sampler {
    case .ddim: return DDIMScheduler(schedule: schedule, steps: steps)
    case .dpmSolver2M: return DPMSolver2MScheduler(schedule: schedule, steps: steps, count: count)
    }
}
