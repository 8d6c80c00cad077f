// Role: normalisations, activations and data movement: group_norm (optionally fused with SiLU),
// layer_norm, silu, gelu, relu, nearest 2x upsample, channel concat, timestep embedding.
// Reductions run in Double in a fixed order per group/row, so results do not depend on threads.
// Reference: torch.nn.functional's group_norm, layer_norm (eps 1e-5), silu, gelu (erf form),
// relu and interpolate(mode="nearest"); Cephes expf for the vector exp; fixture ops.safetensors.
// Failure modes: mismatched shapes are programming errors (`precondition`); no errors thrown.

import Foundation

/// y = group_norm(x) * gamma + beta, then SiLU if `silu`. x, y: (n, c, h, w); may alias.
func groupNorm(_ y: Tensor4, _ x: Tensor4, groups: Int, gamma: Param, beta: Param, silu: Bool, eps: Float = 1e-5,
               threads: Int) {
    precondition(x.count == y.count && x.c % groups == 0 && gamma.count == x.c && beta.count == x.c)
    let cpg = x.c / groups, plane = x.plane, size = cpg * plane
    parallelFor(x.n * groups, threads: x.count >= 1 << 14 ? threads : 1) { _, item in
        let img = item / groups, g = item % groups
        let src = x.image(img) + g * size
        let dst = y.image(img) + g * size
        // Sum and sum of squares in Double, 8 lanes then a fixed lane order (thread-independent).
        var sum8 = SIMD8<Double>(), sq8 = SIMD8<Double>()
        var i = 0
        while i + 8 <= size {
            let v = SIMD8<Double>(loadSIMD8(src + i))
            sum8 += v; sq8 += v * v
            i += 8
        }
        var sum = sum8.sum(), sq = sq8.sum()
        while i < size { let v = Double(src[i]); sum += v; sq += v * v; i += 1 }
        let mean = sum / Double(size)
        let variance = max(0, sq / Double(size) - mean * mean)
        let rstd = Float(1 / (variance + Double(eps)).squareRoot())
        let m = Float(mean)
        for ci in 0..<cpg {
            let c = g * cpg + ci
            let scale = rstd * gamma.data[c], shift = beta.data[c] - m * rstd * gamma.data[c]
            let s = src + ci * plane, d = dst + ci * plane
            var i = 0
            if silu {
                while i + 8 <= plane {
                    let v = loadSIMD8(s + i) * scale + shift
                    storeSIMD8(d + i, v / (1 + expSIMD(-v)))
                    i += 8
                }
                while i < plane { let v = s[i] * scale + shift; d[i] = v / (1 + expf(-v)); i += 1 }
            } else {
                while i + 8 <= plane { storeSIMD8(d + i, loadSIMD8(s + i) * scale + shift); i += 8 }
                while i < plane { d[i] = s[i] * scale + shift; i += 1 }
            }
        }
    }
}

/// 8 floats from `p` (any alignment).
@inline(__always)
func loadSIMD8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

/// Stores 8 floats at `p` (any alignment).
@inline(__always)
func storeSIMD8(_ p: UnsafeMutablePointer<Float>, _ v: SIMD8<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// e^x lane-wise (Cephes expf: x = n ln2 + r, degree-6 polynomial; relative error ~2e-7,
/// inputs clamped to [-87.3, 88.3]). Branch-free and call-free: the clamp is a masked select
/// and n = round(x / ln2) comes from adding and subtracting 1.5 * 2^23 (round to nearest even;
/// Cephes uses floor(x / ln2 + 0.5), which differs only at exact ties), so it compiles to
/// plain vector instructions (the generic clamp and `rounded(.down)` called libm per lane).
@inline(__always)
func expSIMD(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.3)
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    let big = xc * 1.442_695_04 + 12_582_912
    let n = big - 12_582_912
    let r = xc - n * 0.693_359_375 + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_1e-4)
    p = p * r + 1.398_199_9e-3
    p = p * r + 8.333_452e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 0.166_666_66
    p = p * r + 0.5
    p = p * r * r + r + 1
    // 2^n: `big` holds n in its low mantissa bits.
    let shifted = unsafeBitCast(big, to: SIMD8<Int32>.self) &- 0x4B40_0000
    return p * unsafeBitCast((shifted &+ 127) &<< 23, to: SIMD8<Float>.self)
}

/// y[r, :] = layer_norm(x[r, :]) * gamma + beta over rows of `dim`. May alias.
func layerNorm(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int, gamma: Param, beta: Param,
               eps: Float = 1e-5) {
    let dim = gamma.count
    for r in 0..<rows {
        let s = x + r * dim, d = y + r * dim
        var sum = 0.0, sq = 0.0
        for i in 0..<dim { let v = Double(s[i]); sum += v; sq += v * v }
        let mean = sum / Double(dim)
        let rstd = Float(1 / (max(0, sq / Double(dim) - mean * mean) + Double(eps)).squareRoot())
        let m = Float(mean)
        for i in 0..<dim { d[i] = (s[i] - m) * rstd * gamma.data[i] + beta.data[i] }
    }
}

/// x = silu(x) in place over `count` elements.
func siluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    for i in 0..<count { x[i] = x[i] / (1 + expf(-x[i])) }
}

/// x = gelu(x) = x/2 (1 + erf(x / sqrt 2)) in place.
func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let r = Float(0.5.squareRoot())
    for i in 0..<count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * r)) }
}

/// y (n, c, 2h, 2w) = nearest 2x upsample of x (n, c, h, w).
func upsampleNearest2x(_ y: Tensor4, _ x: Tensor4, threads: Int) {
    precondition(y.n == x.n && y.c == x.c && y.h == 2 * x.h && y.w == 2 * x.w)
    parallelFor(x.n * x.c, threads: x.count >= 1 << 16 ? threads : 1) { _, p in
        let s = x.data + p * x.plane, d = y.data + p * y.plane
        for iy in 0..<x.h {
            let row = d + 2 * iy * y.w
            for ix in 0..<x.w { let v = s[iy * x.w + ix]; row[2 * ix] = v; row[2 * ix + 1] = v }
            (row + y.w).update(from: row, count: y.w)
        }
    }
}

/// y (n, ca + cb, h, w) = cat([a, b], dim 1).
func concatChannels(_ y: Tensor4, _ a: Tensor4, _ b: Tensor4) {
    precondition(y.n == a.n && a.n == b.n && y.c == a.c + b.c && a.plane == y.plane && b.plane == y.plane)
    for i in 0..<y.n {
        y.image(i).update(from: a.image(i), count: a.c * a.plane)
        (y.image(i) + a.c * a.plane).update(from: b.image(i), count: b.c * b.plane)
    }
}

/// Sinusoidal timestep embedding: [cos(t f_i), sin(t f_i)], f_i = exp(-ln(10^4) i / half),
/// computed in Float like twinnet.timestep_embedding. out (rows, dim), every row for the same t.
func timestepEmbedding(_ out: UnsafeMutablePointer<Float>, timestep t: Float, rows: Int, dim: Int) {
    let half = dim / 2
    let c = Float(-log(10000.0))
    for r in 0..<rows {
        for i in 0..<half {
            let f = expf((c * Float(i)) / Float(half))
            let a = t * f
            out[r * dim + i] = cosf(a)
            out[r * dim + half + i] = sinf(a)
        }
    }
}
