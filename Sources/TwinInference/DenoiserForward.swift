// Role: the denoiser's forward pass and its context tokens. Activations come from the workspace
// arena, which `forward` resets on entry: nothing it returns outlives the next call.
// Reference: twinnet.Denoiser.forward and .context (scripts/reference/twinnet.py); fixtures
// denoiser_step.safetensors.
// Failure modes: wrong latent channels, sizes or attribute tokens are programming errors
// (`precondition`); requests are validated before they get here (`TwinModel.validate`).

import Foundation

extension DenoiserWeights {
    /// Context tokens (tokens, ctx) for one conditioning: identity_proj(identity), then row
    /// `attrs[i]` of table i (`vocabSizes[i]` = the null row). `identity` nil = `null_identity`.
    func context(_ out: UnsafeMutablePointer<Float>, identity: UnsafePointer<Float>?, attrs: [Int]) {
        precondition(attrs.count == config.vocabSizes.count)
        linear(out, identity ?? nullIdentity.data, rows: 1, weight: identityW, bias: identityB, threads: 1)
        let ctx = config.ctxDim
        for (i, a) in attrs.enumerated() {
            precondition(a >= 0 && a <= config.vocabSizes[i])
            (out + (i + 1) * ctx).update(from: attrEmbed[i].data + a * ctx, count: ctx)
        }
    }

    /// eps (b, C, h, w) = denoiser(x (b, C, h, w), t, context (b, tokens, ctx)).
    func forward(_ eps: Tensor4, _ x: Tensor4, timestep: Int, context: UnsafePointer<Float>, ws: Workspace) {
        let arena = ws.arena
        arena.reset()
        let b = x.n, cfg = config
        precondition(x.c == cfg.latentChannels && eps.count == x.count)
        // emb = time_mlp(temb(t)) + cond_mlp(sum of context tokens); ResBlocks receive silu(emb).
        let temb = arena.alloc(b * cfg.channels)
        timestepEmbedding(temb, timestep: Float(timestep), rows: b, dim: cfg.channels)
        let e1 = arena.alloc(b * cfg.embDim), emb = arena.alloc(b * cfg.embDim)
        linear(e1, temb, rows: b, weight: time0W, bias: time0B, threads: 1)
        siluInPlace(e1, count: b * cfg.embDim)
        linear(emb, e1, rows: b, weight: time2W, bias: time2B, threads: 1)
        let pooled = arena.zeros(b * cfg.ctxDim)
        for i in 0..<b {
            for tok in 0..<cfg.tokens {
                let src = context + (i * cfg.tokens + tok) * cfg.ctxDim
                for j in 0..<cfg.ctxDim { pooled[i * cfg.ctxDim + j] += src[j] }
            }
        }
        let c1 = arena.alloc(b * cfg.embDim), c2 = arena.alloc(b * cfg.embDim)
        linear(c1, pooled, rows: b, weight: cond0W, bias: cond0B, threads: 1)
        siluInPlace(c1, count: b * cfg.embDim)
        linear(c2, c1, rows: b, weight: cond2W, bias: cond2B, threads: 1)
        for i in 0..<(b * cfg.embDim) { emb[i] = siluScalar(emb[i] + c2[i]) }

        var h = Tensor4(arena.alloc(b * cfg.channels * x.plane), b, cfg.channels, x.h, x.w)
        conv2d(h, x, convIn, ws: ws)
        var skips = [h]
        for level in down {
            for block in level.res {
                h = resBlock(h, block, semb: emb, ws: ws)
                skips.append(h)
            }
            if let ds = level.resample {
                let (oh, ow) = ds.outputSize(h.h, h.w)
                let y = Tensor4(arena.alloc(b * h.c * oh * ow), b, h.c, oh, ow)
                conv2d(y, h, ds, ws: ws)
                h = y
                skips.append(h)
            }
        }
        h = resBlock(h, mid1, semb: emb, ws: ws)
        h = transformer(h, midAttn, context: context, ws: ws)
        h = resBlock(h, mid2, semb: emb, ws: ws)
        for level in up {
            for block in level.res {
                let s = skips.removeLast()
                let cat = Tensor4(arena.alloc(b * (h.c + s.c) * h.plane), b, h.c + s.c, h.h, h.w)
                concatChannels(cat, h, s)
                h = resBlock(cat, block, semb: emb, ws: ws)
            }
            if let us = level.resample {
                let big = Tensor4(arena.alloc(4 * h.count), b, h.c, 2 * h.h, 2 * h.w)
                upsampleNearest2x(big, h, threads: ws.threads)
                let y = Tensor4(arena.alloc(big.count), b, h.c, big.h, big.w)
                conv2d(y, big, us, ws: ws)
                h = y
            }
        }
        let a = Tensor4(arena.alloc(h.count), b, h.c, h.h, h.w)
        groupNorm(a, h, groups: cfg.normGroups, gamma: normOutW, beta: normOutB, silu: true, threads: ws.threads)
        conv2d(eps, a, convOut, ws: ws)
    }

    /// twinnet.ResBlock.forward with the embedding add and the residual fused into the convs.
    private func resBlock(_ x: Tensor4, _ w: ResBlockWeights, semb: UnsafePointer<Float>, ws: Workspace) -> Tensor4 {
        let arena = ws.arena, b = x.n, cout = w.conv1.cout, g = config.normGroups
        let a = Tensor4(arena.alloc(x.count), b, x.c, x.h, x.w)
        groupNorm(a, x, groups: g, gamma: w.norm1W, beta: w.norm1B, silu: true, threads: ws.threads)
        let proj = arena.alloc(b * cout)
        linear(proj, semb, rows: b, weight: w.embW, bias: w.embB, threads: 1)
        let h = Tensor4(arena.alloc(b * cout * x.plane), b, cout, x.h, x.w)
        conv2d(h, a, w.conv1, ConvEpilogue(channelAdd: proj), ws: ws)
        groupNorm(h, h, groups: g, gamma: w.norm2W, beta: w.norm2B, silu: true, threads: ws.threads)
        var residual = x
        if let skip = w.skip {
            residual = Tensor4(arena.alloc(h.count), b, cout, x.h, x.w)
            conv2d(residual, x, skip, ws: ws)
        }
        let out = Tensor4(arena.alloc(h.count), b, cout, x.h, x.w)
        conv2d(out, h, w.conv2, ConvEpilogue(residual: residual.data), ws: ws)
        return out
    }

    /// twinnet.TransformerBlock.forward: x + tokens^T after self-, cross-attention and MLP.
    private func transformer(_ x: Tensor4, _ w: TransformerWeights, context: UnsafePointer<Float>, ws: Workspace) -> Tensor4 {
        let arena = ws.arena, b = x.n, c = x.c, n = x.plane, rows = b * n
        let normed = Tensor4(arena.alloc(x.count), b, c, x.h, x.w)
        groupNorm(normed, x, groups: config.normGroups, gamma: w.normW, beta: w.normB, silu: false, threads: ws.threads)
        // tokens t (b, n, c) = normed (b, c, n) transposed.
        let t = arena.alloc(x.count)
        for i in 0..<b { transpose(t + i * n * c, normed.image(i), rows: c, cols: n) }
        let u = arena.alloc(x.count), a = arena.alloc(x.count)
        layerNorm(u, t, rows: rows, gamma: w.ln1W, beta: w.ln1B)
        attention(a, u, batch: b, tokens: n, context: nil, contextTokens: 0, w.attn1, ws: ws)
        for i in 0..<x.count { t[i] += a[i] }
        layerNorm(u, t, rows: rows, gamma: w.ln2W, beta: w.ln2B)
        attention(a, u, batch: b, tokens: n, context: context, contextTokens: config.tokens, w.attn2, ws: ws)
        for i in 0..<x.count { t[i] += a[i] }
        layerNorm(u, t, rows: rows, gamma: w.ln3W, beta: w.ln3B)
        let f = arena.alloc(rows * 4 * c)
        linear(f, u, rows: rows, weight: w.ff1W, bias: w.ff1B, threads: ws.threads)
        geluInPlace(f, count: rows * 4 * c)
        linear(a, f, rows: rows, weight: w.ff2W, bias: w.ff2B, threads: ws.threads)
        for i in 0..<x.count { t[i] += a[i] }
        let out = Tensor4(arena.alloc(x.count), b, c, x.h, x.w)
        for i in 0..<b {
            transpose(out.image(i), t + i * n * c, rows: n, cols: c)
            let o = out.image(i), xi = x.image(i)
            for j in 0..<(c * n) { o[j] += xi[j] }
        }
        return out
    }
}

/// dst (cols, rows) = src (rows, cols)^T.
func transpose(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows { for c in 0..<cols { dst[c * rows + r] = src[r * cols + c] } }
}

@inline(__always)
func siluScalar(_ v: Float) -> Float { v / (1 + expf(-v)) }
