// Role: multi-head attention, softmax(q k^T / sqrt(d_head)) v, then to_out; self-attention when
// no context is given. Projections, scores and values all go through sgemm; softmax subtracts
// the row maximum.
// Reference: twinnet.Attention (scripts/reference/twinnet.py); fixture ops.safetensors.
// Failure modes: none checked here: weight shapes are checked at load and activation shapes
// come from the denoiser's forward pass.

import Foundation

/// Weights of one attention layer. to_q (dim, dim), to_k/to_v (dim, ctxDim), to_out (dim, dim) + bias.
struct AttentionWeights {
    let toQ: Param, toK: Param, toV: Param, toOut: Param, toOutBias: Param
    let heads: Int

    var dim: Int { toQ.shape[0] }
}

/// out (b, n, dim) = attention(x (b, n, dim), context (b, m, ctxDim)); self-attention when
/// `context` is nil. Scratch comes from the arena.
func attention(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, batch b: Int, tokens n: Int,
               context: UnsafePointer<Float>?, contextTokens: Int, _ wt: AttentionWeights, ws: Workspace) {
    let d = wt.dim, h = wt.heads, dh = d / h
    let ctx = context ?? x
    let m = context == nil ? n : contextTokens
    let arena = ws.arena
    let q = arena.alloc(b * n * d), k = arena.alloc(b * m * d), v = arena.alloc(b * m * d)
    let o = arena.alloc(b * n * d), scores = arena.alloc(b * h * n * m)
    linear(q, x, rows: b * n, weight: wt.toQ, bias: nil, threads: ws.threads)
    linear(k, ctx, rows: b * m, weight: wt.toK, bias: nil, threads: ws.threads)
    linear(v, ctx, rows: b * m, weight: wt.toV, bias: nil, threads: ws.threads)
    let scale = 1 / Float(dh).squareRoot()
    parallelFor(b * h, threads: ws.threads) { _, item in
        let bi = item / h, hi = item % h
        let qh = q + bi * n * d + hi * dh, kh = k + bi * m * d + hi * dh, vh = v + bi * m * d + hi * dh
        let s = scores + item * n * m
        // s (n, m) = q_h (n, dh) k_h^T / sqrt(dh)
        sgemm(s, ldc: m, qh, lda: d, kh, ldb: d, transB: true, m: n, n: m, k: dh, alpha: scale)
        for r in 0..<n { softmaxRow(s + r * m, count: m) }
        // o_h (n, dh) = s (n, m) v_h (m, dh)
        sgemm(o + bi * n * d + hi * dh, ldc: d, s, lda: m, vh, ldb: d, m: n, n: dh, k: m)
    }
    linear(out, o, rows: b * n, weight: wt.toOut, bias: wt.toOutBias, threads: ws.threads)
}

/// In-place numerically stable softmax of one row.
@inline(__always)
func softmaxRow(_ x: UnsafeMutablePointer<Float>, count: Int) {
    var mx = -Float.infinity
    for i in 0..<count { mx = max(mx, x[i]) }
    var sum: Float = 0
    for i in 0..<count { let e = expf(x[i] - mx); x[i] = e; sum += e }
    let inv = 1 / sum
    for i in 0..<count { x[i] *= inv }
}
