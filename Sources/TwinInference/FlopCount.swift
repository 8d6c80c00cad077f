// Role: graph FLOPs of the networks for `twinrender bench`: 2 x multiply-adds of every
// convolution (counted as direct, whatever kernel runs it), linear layer and attention matmul;
// norms, activations and adds are not counted.
// Reference: the architecture as walked by Denoiser.swift / Decoder.swift; the counts are
// checked against hand-derived numbers (Tests/TwinInferenceTests/FlopCountTests.swift).
// Failure modes: none; sizes are the caller's (latent = image / 8).

extension DenoiserWeights {
    /// FLOPs of one forward over a batch of `n` latents of `h` x `w`.
    func flops(batch n: Int, h: Int, w: Int) -> Double {
        var total = 0.0
        func conv(_ c: Conv2d, _ ih: Int, _ iw: Int) -> (Int, Int) {
            let (oh, ow) = c.outputSize(ih, iw)
            total += 2 * Double(n * c.cout * c.cin * c.k * c.k * oh * ow)
            return (oh, ow)
        }
        func res(_ b: ResBlockWeights, _ ih: Int, _ iw: Int) {
            _ = conv(b.conv1, ih, iw); _ = conv(b.conv2, ih, iw)
            if let s = b.skip { _ = conv(s, ih, iw) }
            total += 2 * Double(n * b.embW.count)
        }
        let cfg = config
        total += 2 * Double(n * (time0W.count + time2W.count + cond0W.count + cond2W.count))
        var (ch, cw) = conv(convIn, h, w)
        for level in down {
            for b in level.res { res(b, ch, cw) }
            if let ds = level.resample { (ch, cw) = conv(ds, ch, cw) }
        }
        res(mid1, ch, cw); res(mid2, ch, cw)
        let tokens = Double(ch * cw), d = Double(midAttn.normW.count), ctxTokens = Double(cfg.tokens)
        let nn = Double(n)
        total += 2 * nn * tokens * d * d * 4                                  // self q, k, v, out
        total += 2 * nn * tokens * tokens * d * 2                             // self scores, values
        total += 2 * nn * (tokens * d * d * 2 + ctxTokens * Double(cfg.ctxDim) * d * 2) // cross q, out, k, v
        total += 2 * nn * tokens * ctxTokens * d * 2                          // cross scores, values
        total += 2 * nn * tokens * d * 4 * d * 2                              // feed-forward
        for level in up {
            for b in level.res { res(b, ch, cw) }
            if let us = level.resample { (ch, cw) = conv(us, 2 * ch, 2 * cw) }
        }
        _ = conv(convOut, ch, cw)
        return total
    }
}

extension DecoderWeights {
    /// FLOPs of one pass over `n` latents of `h` x `w` (35.3 GFLOP for TAESD, width 64, at 32x32).
    func flops(batch n: Int, h: Int, w: Int) -> Double {
        var total = 0.0, ch = h, cw = w
        func conv(_ c: Conv2d) { total += 2 * Double(n * c.cout * c.cin * c.k * c.k * ch * cw) }
        conv(convIn)
        for stage in stages {
            for b in stage.blocks { conv(b.c0); conv(b.c1); conv(b.c2) }
            if let u = stage.upConv { ch *= 2; cw *= 2; conv(u) }
        }
        conv(convOut)
        return total
    }
}

extension TwinModel {
    /// Graph FLOPs of one denoiser forward over `batch` latents for a `width` x `height` image
    /// (a guided step of B images is `batch: 2 * B`).
    public func denoiserFLOPs(batch: Int, width: Int, height: Int) -> Double {
        denoiser.flops(batch: batch, h: height / 8, w: width / 8)
    }

    /// Graph FLOPs of one decoder pass over `batch` latents for a `width` x `height` image.
    public func decoderFLOPs(batch: Int, width: Int, height: Int) -> Double {
        decoder.flops(batch: batch, h: height / 8, w: width / 8)
    }
}
