// Each kernel against PyTorch (ops.safetensors, tolerance 1e-4 relative) and the conv kernel
// against a naive reference on shapes that exercise tiling, padding and strides.

import Foundation
import Testing
@testable import TwinInference

@Suite struct OpsTests {
    let ops: SafeTensorsFile
    init() throws { ops = try Fixtures.file("ops.safetensors") }

    private func runConv(_ prefix: String, stride: Int, padding: Int, bias: Bool, threads: Int) throws -> [Float] {
        var keep: [UnsafeMutableBufferPointer<Float>] = []
        defer { keep.forEach { $0.deallocate() } }
        let (xs, xv) = try ops.tensor(prefix + ".x")
        var x = xv
        let (ys, _) = try ops.tensor(prefix + ".y")
        let conv = Conv2d(weight: try ops.param(prefix + ".w", keep: &keep),
                          bias: bias ? try ops.param(prefix + ".b", keep: &keep) : nil, stride: stride, padding: padding)
        var y = [Float](repeating: .nan, count: ys.reduce(1, *))
        withWorkspace(threads: threads) { ws in
            x.withUnsafeMutableBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    conv2d(Tensor4(yp.baseAddress!, ys[0], ys[1], ys[2], ys[3]),
                           Tensor4(xp.baseAddress!, xs[0], xs[1], xs[2], xs[3]), conv, ws: ws)
                }
            }
        }
        return y
    }

    @Test(arguments: [("conv3", 1, 1, true), ("conv3s2", 2, 1, true), ("conv1", 1, 0, false)])
    func convMatchesTorch(_ prefix: String, _ stride: Int, _ padding: Int, _ bias: Bool) throws {
        let expected = try ops.tensor(prefix + ".y").values
        for threads in [1, 2] {
            let y = try runConv(prefix, stride: stride, padding: padding, bias: bias, threads: threads)
            #expect(relativeError(y, expected) <= 1e-4, "\(prefix) threads \(threads)")
        }
    }

    @Test func groupNormMatchesTorch() throws {
        var keep: [UnsafeMutableBufferPointer<Float>] = []
        defer { keep.forEach { $0.deallocate() } }
        let (s, xv) = try ops.tensor("gn.x")
        var x = xv
        let gamma = try ops.param("gn.w", keep: &keep), beta = try ops.param("gn.b", keep: &keep)
        for silu in [false, true] {
            var y = [Float](repeating: .nan, count: x.count)
            x.withUnsafeMutableBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { yp in
                    groupNorm(Tensor4(yp.baseAddress!, s[0], s[1], s[2], s[3]), Tensor4(xp.baseAddress!, s[0], s[1], s[2], s[3]),
                              groups: 4, gamma: gamma, beta: beta, silu: silu, threads: 2)
                }
            }
            let expected = try ops.tensor(silu ? "gn.ysilu" : "gn.y").values
            #expect(relativeError(y, expected) <= 1e-4)
        }
    }

    @Test func layerNormMatchesTorch() throws {
        var keep: [UnsafeMutableBufferPointer<Float>] = []
        defer { keep.forEach { $0.deallocate() } }
        let x = try ops.tensor("ln.x").values
        var y = [Float](repeating: .nan, count: x.count)
        layerNorm(&y, x, rows: 14, gamma: try ops.param("ln.w", keep: &keep), beta: try ops.param("ln.b", keep: &keep))
        #expect(relativeError(y, try ops.tensor("ln.y").values) <= 1e-4)
    }

    @Test func geluMatchesTorch() throws {
        var x = try ops.tensor("gelu.x").values
        geluInPlace(&x, count: x.count)
        #expect(relativeError(x, try ops.tensor("gelu.y").values) <= 1e-4)
    }

    @Test func timestepEmbeddingMatchesTorch() throws {
        let expected = try ops.tensor("temb.y").values
        var y = [Float](repeating: .nan, count: 16)
        for (row, t) in [0, 1, 999, 500].enumerated() {
            timestepEmbedding(&y, timestep: Float(t), rows: 1, dim: 16)
            #expect(relativeError(y, Array(expected[(16 * row)..<(16 * row + 16)])) <= 1e-4, "t = \(t)")
        }
    }

    @Test(arguments: ["self", "cross"])
    func attentionMatchesTorch(_ kind: String) throws {
        var keep: [UnsafeMutableBufferPointer<Float>] = []
        defer { keep.forEach { $0.deallocate() } }
        let p = "attn.\(kind)."
        let w = AttentionWeights(
            toQ: try ops.param(p + "to_q.weight", keep: &keep), toK: try ops.param(p + "to_k.weight", keep: &keep),
            toV: try ops.param(p + "to_v.weight", keep: &keep), toOut: try ops.param(p + "to_out.weight", keep: &keep),
            toOutBias: try ops.param(p + "to_out.bias", keep: &keep), heads: 3)
        let x = try ops.tensor("attn.x").values, ctx = try ops.tensor("attn.ctx").values
        var y = [Float](repeating: .nan, count: x.count)
        withWorkspace { ws in
            ctx.withUnsafeBufferPointer { c in
                attention(&y, x, batch: 2, tokens: 5, context: kind == "cross" ? c.baseAddress! : nil, contextTokens: 3, w, ws: ws)
            }
        }
        #expect(relativeError(y, try ops.tensor(p + "y").values) <= 1e-4)
    }

    @Test func simdExpMatchesLibm() {
        var worst: Float = 0
        for i in 0..<2000 {
            let base = -87 + Float(i) * 0.0875
            let x = SIMD8<Float>((0..<8).map { base + Float($0) * 0.01 })
            let y = expSIMD(x)
            for j in 0..<8 { worst = max(worst, abs(y[j] - expf(x[j])) / expf(x[j])) }
        }
        #expect(worst < 1e-6)
        #expect(expSIMD(SIMD8(repeating: 200)).max().isFinite && expSIMD(SIMD8(repeating: -200)).max() >= 0)
    }

    @Test func upsampleNearest() {
        var x: [Float] = [1, 2, 3, 4, 5, 6]     // (1, 1, 2, 3)
        var y = [Float](repeating: .nan, count: 24)
        x.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                upsampleNearest2x(Tensor4(yp.baseAddress!, 1, 1, 4, 6), Tensor4(xp.baseAddress!, 1, 1, 2, 3), threads: 2)
            }
        }
        #expect(y == [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6])
    }

    /// Conv against a direct loop on shapes with several tiles per image (wide rows, odd sizes,
    /// stride 2, 1-pixel-wide inputs), with every epilogue, bit-identical across thread counts;
    /// 3x3 stride-1 convs with >= 16 input channels also through Winograd F(2x2, 3x3).
    @Test(arguments: [(2, 3, 5, 37, 600, 3, 1, 1), (1, 4, 6, 9, 1, 3, 2, 1), (2, 8, 3, 20, 64, 1, 1, 0), (1, 2, 2, 1, 1, 3, 1, 1),
                      (2, 16, 5, 9, 13, 3, 1, 1), (1, 16, 8, 37, 300, 3, 1, 1), (1, 32, 4, 1, 3, 3, 1, 1),
                      (2, 24, 16, 32, 48, 3, 1, 1), (1, 16, 8, 18, 34, 3, 1, 1), (1, 16, 8, 64, 64, 3, 1, 1)])
    func convMatchesNaive(_ n: Int, _ cin: Int, _ cout: Int, _ h: Int, _ w: Int, _ k: Int, _ stride: Int, _ pad: Int) {
        var rng = SplitMix(seed: UInt64(n * 1000 + cin * 100 + h + w))
        var x = (0..<(n * cin * h * w)).map { _ in rng.nextFloat() }
        let weight = (0..<(cout * cin * k * k)).map { _ in rng.nextFloat() }
        let bias = (0..<cout).map { _ in rng.nextFloat() }
        let chan = (0..<(n * cout)).map { _ in rng.nextFloat() }
        let ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1
        let residual = (0..<(n * cout * ho * wo)).map { _ in rng.nextFloat() }
        // Naive reference.
        var ref = [Float](repeating: 0, count: n * cout * ho * wo)
        for b in 0..<n { for co in 0..<cout { for oy in 0..<ho { for ox in 0..<wo {
            var acc: Double = 0
            for ci in 0..<cin { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * stride - pad + ky, ix = ox * stride - pad + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < w {
                    acc += Double(x[((b * cin + ci) * h + iy) * w + ix]) * Double(weight[((co * cin + ci) * k + ky) * k + kx])
                }
            } } }
            let o = ((b * cout + co) * ho + oy) * wo + ox
            ref[o] = max(0, Float(acc) + bias[co] + chan[b * cout + co] + residual[o])
        } } } }
        var outputs: [[Float]] = []
        var winogradOutputs: [[Float]] = []
        let u = UnsafeMutablePointer<Float>.allocate(capacity: 16 * cout * cin)
        defer { u.deallocate() }
        weight.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in
                let plain = Conv2d(weight: Param(data: wp.baseAddress!, shape: [cout, cin, k, k]),
                                   bias: Param(data: bp.baseAddress!, shape: [cout]), stride: stride, padding: pad)
                var variants = [plain]
                if winogradEligible(plain.weight, stride: stride, padding: pad) {
                    winogradTransformWeights(u, plain.weight)
                    var wino = plain
                    wino.winograd = UnsafePointer(u)
                    variants.append(wino)
                }
                for (variant, conv) in variants.enumerated() {
                for threads in [1, 2, 3] {
                    var y = [Float](repeating: .nan, count: ref.count)
                    withWorkspace(threads: threads) { ws in
                        x.withUnsafeMutableBufferPointer { xp in
                            y.withUnsafeMutableBufferPointer { yp in
                                chan.withUnsafeBufferPointer { cp in
                                    residual.withUnsafeBufferPointer { rp in
                                        conv2d(Tensor4(yp.baseAddress!, n, cout, ho, wo), Tensor4(xp.baseAddress!, n, cin, h, w), conv,
                                               ConvEpilogue(channelAdd: cp.baseAddress!, residual: rp.baseAddress!, relu: true), ws: ws)
                                    }
                                }
                            }
                        }
                    }
                    if variant == 0 { outputs.append(y) } else { winogradOutputs.append(y) }
                }
                }
            }
        }
        #expect(relativeError(outputs[0], ref) <= 1e-5)
        #expect(outputs[0] == outputs[1] && outputs[1] == outputs[2], "results depend on the thread count")
        #expect(winogradOutputs.isEmpty == (cin < 16 || k != 3 || stride != 1))
        for y in winogradOutputs { #expect(relativeError(y, ref) <= 1e-5, "Winograd") }
        if winogradOutputs.count == 3 {
            #expect(winogradOutputs[0] == winogradOutputs[1] && winogradOutputs[1] == winogradOutputs[2], "Winograd depends on threads")
        }
    }
}

/// Small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = GaussianNoise.splitmix64(state)
        return state
    }
    /// Uniform in [-1, 1).
    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }
}
