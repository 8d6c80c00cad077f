// Noise generator and schedule against twinnet (values printed by twinnet.py, commands below).

import Foundation
import Testing
@testable import TwinInference

@Suite struct NoiseScheduleTests {
    /// twinnet.splitmix64(0), (42): 0xe220a8397b1dcdaf, 0xbdd732262feb6e95.
    @Test func splitmixKnownValues() {
        #expect(GaussianNoise.splitmix64(0) == 0xe220_a839_7b1d_cdaf)
        #expect(GaussianNoise.splitmix64(42) == 0xbdd7_3226_2feb_6e95)
    }

    /// noise.safetensors = twinnet.gaussian_noise(seed, stream, n): must match bit for bit.
    @Test(arguments: [("seed42.stream0", UInt64(42), UInt64(0)), ("seed42.stream1", 42, 1), ("seedmax.stream3", UInt64.max, 3)])
    func gaussianNoiseIsBitExact(_ name: String, _ seed: UInt64, _ stream: UInt64) throws {
        let expected = try Fixtures.file("noise.safetensors").tensor(name).values
        var out = [Float](repeating: .nan, count: expected.count)
        GaussianNoise.fill(&out, count: out.count, seed: seed, stream: stream)
        #expect(out == expected)
        #expect(GaussianNoise.value(seed: seed, stream: stream, index: 5) == expected[5])
    }

    /// twinnet.timesteps(cfg, steps) for T = 1000 ('trailing', Python's half-to-even rounding).
    @Test func trailingTimesteps() {
        let s = NoiseSchedule(trainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012)
        #expect(s.timesteps(steps: 1) == [999])
        #expect(s.timesteps(steps: 3) == [999, 666, 332])
        #expect(s.timesteps(steps: 4) == [999, 749, 499, 249])
        #expect(s.timesteps(steps: 16) == [999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61])
        #expect(s.timesteps(steps: 20).last == 49)
    }

    /// twinnet.alphas_cumprod: [0] = 0.99915, [499] = 0.27766965045646763, [999] = 0.004660098513077238.
    @Test func scaledLinearAlphas() {
        let a = NoiseSchedule(trainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012).alphasCumprod
        #expect(abs(a[0] - 0.99915) < 1e-15)
        #expect(abs(a[499] - 0.27766965045646763) < 1e-15)
        #expect(abs(a[999] - 0.004660098513077238) < 1e-15)
    }
}
