// Role: the conditional UNet denoiser's configuration and weights (shape-checked at load):
// ResBlocks, the mid transformer block, conv helpers. Epsilon prediction.
// Reference: twinnet.Denoiser (scripts/reference/twinnet.py), operation by operation, tensor
// names as in its state_dict() (a Stable Diffusion-style UNet at a small width).
// Failure modes: a missing, unexpected or mis-shaped tensor throws `SafeTensorsError` naming it
// (reported as `ModelLoadError` naming denoiser.safetensors); nothing traps on file contents.

/// Architecture hyperparameters (from model.json's "denoiser" and "conditioning").
struct DenoiserConfig {
    let latentChannels: Int
    let channels: Int
    let channelMult: [Int]
    let numResBlocks: Int
    let normGroups: Int
    let heads: Int
    let embDim: Int
    let ctxDim: Int
    let identityDim: Int
    let vocabSizes: [Int]

    /// Context tokens: identity + one per vocabulary.
    var tokens: Int { 1 + vocabSizes.count }
}

/// ResBlock: x + conv2(silu(gn2(conv1(silu(gn1(x))) + emb_proj(silu(emb))))), 1x1 skip if widths differ.
struct ResBlockWeights {
    let norm1W: Param, norm1B: Param, conv1: Conv2d
    let embW: Param, embB: Param
    let norm2W: Param, norm2B: Param, conv2: Conv2d
    let skip: Conv2d?

    init(_ t: inout ParameterStore.Taker, _ p: String, cin: Int, cout: Int, emb: Int) throws(SafeTensorsError) {
        norm1W = try t.take(p + ".norm1.weight", [cin]); norm1B = try t.take(p + ".norm1.bias", [cin])
        conv1 = try takeConv(&t, p + ".conv1", cin, cout, k: 3)
        embW = try t.take(p + ".emb_proj.weight", [cout, emb]); embB = try t.take(p + ".emb_proj.bias", [cout])
        norm2W = try t.take(p + ".norm2.weight", [cout]); norm2B = try t.take(p + ".norm2.bias", [cout])
        conv2 = try takeConv(&t, p + ".conv2", cout, cout, k: 3)
        skip = cin != cout ? try takeConv(&t, p + ".skip", cin, cout, k: 1, padding: 0) : nil
    }
}

/// GroupNorm -> tokens; LN + self-attention, LN + cross-attention, LN + GELU MLP; + x.
struct TransformerWeights {
    let normW: Param, normB: Param
    let ln1W: Param, ln1B: Param, attn1: AttentionWeights
    let ln2W: Param, ln2B: Param, attn2: AttentionWeights
    let ln3W: Param, ln3B: Param
    let ff1W: Param, ff1B: Param, ff2W: Param, ff2B: Param

    init(_ t: inout ParameterStore.Taker, _ p: String, dim: Int, ctx: Int, heads: Int) throws(SafeTensorsError) {
        normW = try t.take(p + ".norm.weight", [dim]); normB = try t.take(p + ".norm.bias", [dim])
        ln1W = try t.take(p + ".ln1.weight", [dim]); ln1B = try t.take(p + ".ln1.bias", [dim])
        attn1 = try takeAttention(&t, p + ".attn1", dim: dim, ctx: dim, heads: heads)
        ln2W = try t.take(p + ".ln2.weight", [dim]); ln2B = try t.take(p + ".ln2.bias", [dim])
        attn2 = try takeAttention(&t, p + ".attn2", dim: dim, ctx: ctx, heads: heads)
        ln3W = try t.take(p + ".ln3.weight", [dim]); ln3B = try t.take(p + ".ln3.bias", [dim])
        ff1W = try t.take(p + ".ff1.weight", [4 * dim, dim]); ff1B = try t.take(p + ".ff1.bias", [4 * dim])
        ff2W = try t.take(p + ".ff2.weight", [dim, 4 * dim]); ff2B = try t.take(p + ".ff2.bias", [dim])
    }
}

/// Conv weights `p.weight` (cout, cin, k, k) and, if `bias`, `p.bias`.
func takeConv(_ t: inout ParameterStore.Taker, _ p: String, _ cin: Int, _ cout: Int, k: Int, stride: Int = 1,
              padding: Int = 1, bias: Bool = true) throws(SafeTensorsError) -> Conv2d {
    let w = try t.take(p + ".weight", [cout, cin, k, k])
    let b = bias ? try t.take(p + ".bias", [cout]) : nil
    var conv = Conv2d(weight: w, bias: b, stride: stride, padding: padding)
    if t.winograd && winogradEligible(w, stride: stride, padding: padding) {
        let u = t.derive(16 * cout * cin)
        winogradTransformWeights(u, w)
        conv.winograd = UnsafePointer(u)
    }
    return conv
}

func takeAttention(_ t: inout ParameterStore.Taker, _ p: String, dim: Int, ctx: Int, heads: Int)
    throws(SafeTensorsError) -> AttentionWeights {
    AttentionWeights(
        toQ: try t.take(p + ".to_q.weight", [dim, dim]), toK: try t.take(p + ".to_k.weight", [dim, ctx]),
        toV: try t.take(p + ".to_v.weight", [dim, ctx]), toOut: try t.take(p + ".to_out.weight", [dim, dim]),
        toOutBias: try t.take(p + ".to_out.bias", [dim]), heads: heads)
}

/// All denoiser weights, shape-checked at load.
struct DenoiserWeights: @unchecked Sendable {
    struct Level { let res: [ResBlockWeights]; let resample: Conv2d? }

    let config: DenoiserConfig
    let time0W: Param, time0B: Param, time2W: Param, time2B: Param    // time_mlp: (emb, ch), (emb, emb)
    let identityW: Param, identityB: Param                            // identity_proj: (ctx, identity_dim)
    let nullIdentity: Param                                           // (identity_dim)
    let attrEmbed: [Param]                                            // (vocab_i + 1, ctx); last row = null
    let cond0W: Param, cond0B: Param, cond2W: Param, cond2B: Param    // cond_mlp: (emb, ctx), (emb, emb)
    let convIn: Conv2d
    let down: [Level]
    let mid1: ResBlockWeights, midAttn: TransformerWeights, mid2: ResBlockWeights
    let up: [Level]
    let normOutW: Param, normOutB: Param
    let convOut: Conv2d

    init(_ t: inout ParameterStore.Taker, _ cfg: DenoiserConfig) throws(SafeTensorsError) {
        config = cfg
        let ch = cfg.channels, emb = cfg.embDim, ctx = cfg.ctxDim
        time0W = try t.take("time_mlp.0.weight", [emb, ch]); time0B = try t.take("time_mlp.0.bias", [emb])
        time2W = try t.take("time_mlp.2.weight", [emb, emb]); time2B = try t.take("time_mlp.2.bias", [emb])
        identityW = try t.take("identity_proj.weight", [ctx, cfg.identityDim])
        identityB = try t.take("identity_proj.bias", [ctx])
        nullIdentity = try t.take("null_identity", [cfg.identityDim])
        var attr: [Param] = []
        for (i, n) in cfg.vocabSizes.enumerated() { attr.append(try t.take("attr_embed.\(i).weight", [n + 1, ctx])) }
        attrEmbed = attr
        cond0W = try t.take("cond_mlp.0.weight", [emb, ctx]); cond0B = try t.take("cond_mlp.0.bias", [emb])
        cond2W = try t.take("cond_mlp.2.weight", [emb, emb]); cond2B = try t.take("cond_mlp.2.bias", [emb])
        convIn = try takeConv(&t, "conv_in", cfg.latentChannels, ch, k: 3)
        var skips = [ch]
        var c = ch
        var down: [Level] = []
        for (level, m) in cfg.channelMult.enumerated() {
            var blocks: [ResBlockWeights] = []
            for j in 0..<cfg.numResBlocks {
                blocks.append(try ResBlockWeights(&t, "down.\(level).res.\(j)", cin: c, cout: ch * m, emb: emb))
                c = ch * m
                skips.append(c)
            }
            var ds: Conv2d? = nil
            if level != cfg.channelMult.count - 1 {
                ds = try takeConv(&t, "down.\(level).downsample.conv", c, c, k: 3, stride: 2)
                skips.append(c)
            }
            down.append(Level(res: blocks, resample: ds))
        }
        self.down = down
        mid1 = try ResBlockWeights(&t, "mid1", cin: c, cout: c, emb: emb)
        midAttn = try TransformerWeights(&t, "mid_attn", dim: c, ctx: ctx, heads: cfg.heads)
        mid2 = try ResBlockWeights(&t, "mid2", cin: c, cout: c, emb: emb)
        var up: [Level] = []
        for (i, (level, m)) in cfg.channelMult.enumerated().reversed().enumerated() {
            var blocks: [ResBlockWeights] = []
            for j in 0...cfg.numResBlocks {
                blocks.append(try ResBlockWeights(&t, "up.\(i).res.\(j)", cin: c + skips.removeLast(), cout: ch * m, emb: emb))
                c = ch * m
            }
            let us = level != 0 ? try takeConv(&t, "up.\(i).upsample.conv", c, c, k: 3) : nil
            up.append(Level(res: blocks, resample: us))
        }
        self.up = up
        normOutW = try t.take("norm_out.weight", [c]); normOutB = try t.take("norm_out.bias", [c])
        convOut = try takeConv(&t, "conv_out", c, cfg.latentChannels, k: 3)
    }
}
