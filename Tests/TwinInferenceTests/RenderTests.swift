// Networks and samplers against PyTorch (denoiser_step, decoder_pass, render_* fixtures;
// tolerance 1e-4 relative, pixels within 1), determinism across thread counts and batching,
// and cancellation.

import Foundation
import Testing
@testable import TwinInference

@Suite struct RenderTests {
    let model = Fixtures.model

    @Test func denoiserStepMatchesTorch() throws {
        let f = try Fixtures.file("denoiser_step.safetensors")
        var x = try f.tensor("x").values
        let ctx = try f.tensor("context").values, expected = try f.tensor("eps").values
        var eps = [Float](repeating: .nan, count: expected.count)
        withWorkspace { ws in
            x.withUnsafeMutableBufferPointer { xp in
                eps.withUnsafeMutableBufferPointer { ep in
                    ctx.withUnsafeBufferPointer { cp in
                        model.denoiser.forward(Tensor4(ep.baseAddress!, 2, 4, 8, 8), Tensor4(xp.baseAddress!, 2, 4, 8, 8),
                                               timestep: 749, context: cp.baseAddress!, ws: ws)
                    }
                }
            }
        }
        #expect(relativeError(eps, expected) <= 1e-4)
    }

    @Test func contextMatchesTorch() throws {
        let expected = try Fixtures.file("denoiser_step.safetensors").tensor("context").values
        let den = model.denoiser, size = den.config.tokens * den.config.ctxDim
        var ctx = [Float](repeating: .nan, count: 2 * size)
        // Fixture: ava with garment t-shirt (0), colour red (0), the rest null; then the null context.
        ctx.withUnsafeMutableBufferPointer { c in
            model.identities["ava"]!.withUnsafeBufferPointer { id in
                den.context(c.baseAddress!, identity: id.baseAddress!, attrs: [0, 0, 2, 2, 2])
            }
            den.context(c.baseAddress! + size, identity: nil, attrs: den.config.vocabSizes)
        }
        #expect(relativeError(ctx, expected) <= 1e-4)
    }

    @Test func decoderMatchesTorch() throws {
        let f = try Fixtures.file("decoder_pass.safetensors")
        var z = try f.tensor("latent").values
        let expected = try f.tensor("image").values
        let renderer = Renderer(model: model, threads: 2)
        // decode() divides by scale_factor first; undo that so the decoder sees the fixture latent.
        for i in z.indices { z[i] *= model.scaleFactor }
        let out = z.withUnsafeMutableBufferPointer { zp in
            let rgb = renderer.decode(Tensor4(zp.baseAddress!, 1, 4, 8, 8))
            return Array(UnsafeBufferPointer(start: rgb.data, count: rgb.count))
        }
        #expect(relativeError(out, expected) <= 1e-4)
    }

    /// make_fixtures.RENDERS, same values.
    static let requests: [(String, RenderRequest, Int)] = [
        ("render_ddim", RenderRequest(twinID: "ava", attributes: ["garment": "dress", "colour": "blue", "pose": "side"],
                                      seed: 1234, steps: 4, guidance: 3.0, sampler: .ddim, width: 64, height: 64), 0),
        ("render_dpm", RenderRequest(twinID: "bea", attributes: ["garment": "coat", "pattern": "striped", "background": "street"],
                                     seed: 99, steps: 5, guidance: 2.5, sampler: .dpmSolver2M, width: 64, height: 64), 2),
    ]

    @Test(arguments: [0, 1])
    func fullRenderMatchesTorch(_ which: Int) throws {
        let (name, request, index) = Self.requests[which]
        let f = try Fixtures.file(name + ".safetensors")
        let renderer = Renderer(model: model, threads: 2)
        let latent = try renderer.sample(request, imageIndices: index..<(index + 1)) { _, _ in true }
        #expect(relativeError(latent, try f.tensor("latent").values) <= 1e-4)
        let image = try renderer.render(request, imageIndex: index)
        let expected = try f.tensor("pixels").values
        #expect(image.width == 64 && image.height == 64 && image.pixels.count == expected.count)
        let worst = zip(image.pixels, expected).map { abs(Float($0) - $1) }.max()!
        #expect(worst <= 1, "pixel differs by \(worst)")
    }

    /// The tests above run the default model (Winograd for eligible 3x3 convs); this runs the
    /// im2col-only variant (`winograd: false`) through whole networks: the DDIM render fixture's
    /// latent and pixels.
    @Test func im2colRenderMatchesTorch() throws {
        let plain = try TwinModel.load(directory: Fixtures.tinyModel, winograd: false)
        #expect(model.denoiser.mid1.conv2.winograd != nil && plain.denoiser.mid1.conv2.winograd == nil)
        let (name, request, index) = Self.requests[0]
        let f = try Fixtures.file(name + ".safetensors")
        let renderer = Renderer(model: plain, threads: 2)
        let latent = try renderer.sample(request, imageIndices: index..<(index + 1)) { _, _ in true }
        #expect(relativeError(latent, try f.tensor("latent").values) <= 1e-4)
        let image = try renderer.render(request, imageIndex: index)
        let worst = zip(image.pixels, try f.tensor("pixels").values).map { abs(Float($0) - $1) }.max()!
        #expect(worst <= 1, "pixel differs by \(worst)")
    }

    @Test func bitIdenticalAcrossThreadsAndBatching() throws {
        let (_, request, _) = Self.requests[0]
        let one = try Renderer(model: model, threads: 1).render(request, imageIndex: 1)
        let two = Renderer(model: model, threads: 2)
        #expect(try two.render(request, imageIndex: 1) == one)
        #expect(try two.render(request, imageIndex: 1) == one, "second render on a reused workspace differs")
        let batch = try two.renderBatch(request, imageIndices: 0..<3)
        #expect(batch[1] == one)
        #expect(batch[0] != batch[1])
    }

    /// The first render of a shape grows the arena chunk by chunk; the next pass's reset folds
    /// them into one chunk of the high-water size. From then on nothing more is reserved.
    @Test func workspaceStopsGrowingOnceWarm() throws {
        let (_, request, _) = Self.requests[1]
        let renderer = Renderer(model: model, threads: 2)
        _ = try renderer.render(request, imageIndex: 0)
        _ = try renderer.render(request, imageIndex: 0)
        let reserved = renderer.reservedBytes
        var perStep: [Int] = []
        _ = try renderer.render(request, imageIndex: 1) { _, _ in perStep.append(renderer.reservedBytes); return true }
        #expect(renderer.reservedBytes == reserved)
        #expect(perStep.allSatisfy { $0 == reserved })
    }

    @Test func progressReportsAndCancels() throws {
        var (_, request, _) = Self.requests[0]
        request.steps = 3
        let renderer = Renderer(model: model, threads: 2)
        var seen: [Int] = []
        _ = try renderer.render(request, imageIndex: 0) { step, total in seen.append(step); return total == 3 }
        #expect(seen == [1, 2, 3])
        #expect(throws: RenderError.cancelled(atStep: 2)) {
            try renderer.render(request, imageIndex: 0) { step, _ in step < 2 }
        }
    }
}
