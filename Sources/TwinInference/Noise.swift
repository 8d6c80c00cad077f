// Role: seeded, counter-based gaussian noise for the initial latents:
//   key = splitmix64(seed) ^ (stream << 40)
//   u1 = uniform(splitmix64(key ^ 2i)), u2 = uniform(splitmix64(key ^ (2i+1))),
//   uniform(z) = ((z >> 11) + 0.5) * 2^-53
//   n_i = Float(sqrt(-2 ln u1) * cos(2 pi u2))      (in Double)
// Element i depends only on (seed, stream, i), so any thread may fill any range and the noise
// is identical for every thread count. The stream is the image index within a job.
// Reference: SplitMix64 (Steele et al. 2014) and Box-Muller; exactly twinnet.gaussian_noise
// (scripts/reference/twinnet.py), fixture noise.safetensors.
// Failure modes: none (total functions; u1 is never 0).

import Foundation

/// Seeded, counter-based standard normal noise.
public enum GaussianNoise {
    /// SplitMix64 finaliser of `x + golden gamma`.
    @inline(__always)
    public static func splitmix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Element `index` of stream `stream` for `seed`.
    @inline(__always)
    public static func value(seed: UInt64, stream: UInt64, index: UInt64) -> Float {
        let key = splitmix64(seed) ^ (stream << 40)
        return sample(key: key, index: index)
    }

    @inline(__always)
    static func sample(key: UInt64, index: UInt64) -> Float {
        let z1 = splitmix64(key ^ (2 &* index)), z2 = splitmix64(key ^ (2 &* index &+ 1))
        let u1 = (Double(z1 >> 11) + 0.5) * 0x1p-53
        let u2 = (Double(z2 >> 11) + 0.5) * 0x1p-53
        return Float((-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2))
    }

    /// Fills `out[0..<count]` with elements 0..<count of stream `stream`.
    public static func fill(_ out: UnsafeMutablePointer<Float>, count: Int, seed: UInt64, stream: UInt64) {
        let key = splitmix64(seed) ^ (stream << 40)
        for i in 0..<count { out[i] = sample(key: key, index: UInt64(i)) }
    }
}
