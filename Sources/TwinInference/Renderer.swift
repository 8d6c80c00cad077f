// Role: runs renders on one worker: conditioning -> seeded noise -> guided sampler loop ->
// decoder -> 8-bit RGB. The denoiser sees scaled latents, the decoder receives
// latent / scale_factor; conditional and null contexts are batched (2B).
// Reference: make_fixtures.render (scripts/reference/make_fixtures.py) and twinnet's samplers;
// fixtures render_ddim / render_dpm.safetensors.
// Failure modes: an invalid request throws `RenderError` before any work; the progress callback
// returning false stops the loop with `RenderError.cancelled(atStep:)`; a thread budget below 1
// or an empty image range is a programming error (`precondition`).

import TwinBase

/// One per worker: owns its workspace, so renders on different Renderers run concurrently
/// while sharing one `TwinModel`. Not thread-safe itself.
public final class Renderer {
    public let model: TwinModel
    /// Worker threads this renderer uses (its share of the cores; BLAS runs single-threaded).
    public let threads: Int
    /// The decoder's workspace (tiles spread over all `threads`).
    let ws: Workspace
    /// The denoiser's workspaces, one per concurrent latent (see `denoise`).
    private var latentWorkspaces: [Workspace] = []

    /// `threads` >= 1: the total CPU budget of this renderer.
    public init(model: TwinModel, threads: Int) {
        precondition(threads >= 1, "Renderer needs at least one thread")
        self.model = model
        self.threads = threads
        ws = Workspace(threads: threads, splitsSmallImages: true)
    }

    /// Bytes held by all of this renderer's workspaces.
    var reservedBytes: Int { latentWorkspaces.reduce(ws.reservedBytes) { $0 + $1.reservedBytes } }

    /// eps (2b latents) = denoiser(x, t, context), one forward per latent. The 2b latents of a
    /// guided step (b conditional, b null) are spread over the thread budget, each worker
    /// running whole single-latent forwards with its own workspace: at this model's sizes
    /// (24-48 channels, 16x16 latents) per-op work is a few microseconds, so one dispatch per
    /// step instead of one per op, and every op (norms, attention, small GEMMs) running on all
    /// cores, is what scales. A latent's result never depends on the batch or the thread count:
    /// it always goes through the same single-latent forward (ops inside use fixed tiles).
    private func denoise(_ eps: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, latents: Int,
                         h: Int, w: Int, timestep: Int, context: UnsafePointer<Float>) {
        let den = model.denoiser, cfg = den.config
        let per = cfg.latentChannels * h * w, ctxSize = cfg.tokens * cfg.ctxDim
        let workers = min(threads, latents)
        let inner = max(1, threads / workers)
        if latentWorkspaces.count != workers || latentWorkspaces.first?.threads != inner {
            latentWorkspaces = (0..<workers).map { _ in Workspace(threads: inner) }
        }
        let spaces = latentWorkspaces
        parallelFor(latents, threads: workers) { worker, j in
            den.forward(Tensor4(eps + j * per, 1, cfg.latentChannels, h, w), Tensor4(x + j * per, 1, cfg.latentChannels, h, w),
                        timestep: timestep, context: context + j * ctxSize, ws: spaces[worker])
        }
    }

    /// Renders image `imageIndex` of a job (the index selects the noise stream). `progress`
    /// is called after each denoising step with (completed steps, total); returning false stops
    /// the render with `RenderError.cancelled`.
    public func render(_ request: RenderRequest, imageIndex: Int,
                       progress: (_ step: Int, _ total: Int) -> Bool = { _, _ in true }) throws(RenderError) -> RGBImage {
        try renderBatch(request, imageIndices: imageIndex..<(imageIndex + 1), progress: progress)[0]
    }

    /// Renders several images of one job in one batch (image k uses noise stream
    /// `imageIndices.lowerBound + k`); results equal separate `render` calls.
    public func renderBatch(_ request: RenderRequest, imageIndices: Range<Int>,
                            progress: (_ step: Int, _ total: Int) -> Bool = { _, _ in true }) throws(RenderError) -> [RGBImage] {
        precondition(!imageIndices.isEmpty && imageIndices.lowerBound >= 0, "imageIndices must be a non-empty range of indices >= 0")
        var latent = try sample(request, imageIndices: imageIndices, progress: progress)
        return latent.withUnsafeMutableBufferPointer { buf in
            let b = imageIndices.count, h = request.height / 8, w = request.width / 8
            let x = Tensor4(buf.baseAddress!, b, model.latentChannels, h, w)
            let rgb = decode(x)
            return (0..<b).map { RGBImage.fromPlanar(rgb, index: $0) }
        }
    }

    /// The sampler loop; returns final scaled latents (b, C, h, w), flattened.
    func sample(_ request: RenderRequest, imageIndices: Range<Int>,
                progress: (Int, Int) -> Bool) throws(RenderError) -> [Float] {
        let resolved = try model.resolve(request)
        let den = model.denoiser, cfg = den.config
        let b = imageIndices.count, h = request.height / 8, w = request.width / 8
        let per = cfg.latentChannels * h * w, count = b * per
        let ctxSize = cfg.tokens * cfg.ctxDim
        // Contexts (2b, tokens, ctx): b copies of the condition, then b of the null condition.
        var context = [Float](repeating: 0, count: 2 * b * ctxSize)
        var x = [Float](repeating: 0, count: count)
        var xx = [Float](repeating: 0, count: 2 * count), eps2 = [Float](repeating: 0, count: 2 * count)
        context.withUnsafeMutableBufferPointer { c in
            resolved.identity.withUnsafeBufferPointer { id in
                den.context(c.baseAddress!, identity: id.baseAddress!, attrs: resolved.attributeTokens)
            }
            den.context(c.baseAddress! + b * ctxSize, identity: nil, attrs: cfg.vocabSizes)
            for i in 1..<max(b, 1) {
                (c.baseAddress! + i * ctxSize).update(from: c.baseAddress!, count: ctxSize)
                (c.baseAddress! + (b + i) * ctxSize).update(from: c.baseAddress! + b * ctxSize, count: ctxSize)
            }
        }
        x.withUnsafeMutableBufferPointer { p in
            for (k, index) in imageIndices.enumerated() {
                GaussianNoise.fill(p.baseAddress! + k * per, count: per, seed: request.seed, stream: UInt64(index))
            }
        }
        var scheduler = makeScheduler(request.sampler, schedule: model.schedule, steps: request.steps, count: count)
        let g = request.guidance
        for (i, t) in scheduler.timesteps.enumerated() {
            x.withUnsafeMutableBufferPointer { xp in
                xx.withUnsafeMutableBufferPointer { xxp in
                    eps2.withUnsafeMutableBufferPointer { ep in
                        context.withUnsafeBufferPointer { cp in
                            xxp.baseAddress!.update(from: xp.baseAddress!, count: count)
                            (xxp.baseAddress! + count).update(from: xp.baseAddress!, count: count)
                            denoise(ep.baseAddress!, xxp.baseAddress!, latents: 2 * b, h: h, w: w, timestep: t,
                                    context: cp.baseAddress!)
                            // Guided eps = eps_u + g (eps_c - eps_u), written over the conditional half.
                            let e = ep.baseAddress!
                            for j in 0..<count { e[j] = e[count + j] + g * (e[j] - e[count + j]) }
                            scheduler.step(i, x: xp.baseAddress!, eps: e, count: count)
                        }
                    }
                }
            }
            if !progress(i + 1, scheduler.timesteps.count) { throw .cancelled(atStep: i + 1) }
        }
        return x
    }

    /// Decoder pass: rgb (b, 3, 8h, 8w) float for scaled latents `z`; valid until the next pass.
    func decode(_ z: Tensor4) -> Tensor4 {
        let inv = 1 / model.scaleFactor
        for i in 0..<z.count { z.data[i] *= inv }
        // The decoder resets the arena; its input and output live outside it.
        let rgbCount = z.n * 3 * 64 * z.plane
        ws.reserveOutput(rgbCount)
        let rgb = Tensor4(ws.outputBuffer, z.n, 3, 8 * z.h, 8 * z.w)
        model.decoder.forward(rgb, z, ws: ws)
        return rgb
    }
}
