// Role: the decoder's weights (shape-checked at load) and its forward pass, latent -> planar RGB
// roughly in [0, 1] (not clamped here).
// Reference: madebyollin/taesd's Decoder with the width a parameter, as twinnet.Decoder
// (scripts/reference/twinnet.py). Tensor names are the nn.Sequential indices, so at width 64
// TAESD's own taesd_decoder weights load unchanged.
// Failure modes: a missing or mis-shaped tensor throws `SafeTensorsError` at load (reported as
// `ModelLoadError` naming decoder.safetensors); mismatched tensor shapes in `forward` are a
// programming error (`precondition`).

import Foundation

/// Decoder weights, shape-checked at load.
struct DecoderWeights: @unchecked Sendable {
    /// TAESD Block: relu(conv(relu(conv(relu(conv(x))))) + x) (no skip conv: width is constant).
    struct Block { let c0: Conv2d, c1: Conv2d, c2: Conv2d }
    /// Three blocks, then (except after the last stage) a 2x upsample and a bias-free conv.
    struct Stage { let blocks: [Block]; let upConv: Conv2d? }

    let latentChannels: Int
    let width: Int
    let convIn: Conv2d          // index 1: (width, latent, 3, 3)
    let stages: [Stage]         // indices 3-18
    let convOut: Conv2d         // index 19: (3, width, 3, 3)

    init(_ t: inout ParameterStore.Taker, latentChannels: Int, width w: Int) throws(SafeTensorsError) {
        self.latentChannels = latentChannels
        width = w
        convIn = try takeConv(&t, "1", latentChannels, w, k: 3)
        func block(_ i: Int, _ t: inout ParameterStore.Taker) throws(SafeTensorsError) -> Block {
            Block(c0: try takeConv(&t, "\(i).conv.0", w, w, k: 3), c1: try takeConv(&t, "\(i).conv.2", w, w, k: 3),
                  c2: try takeConv(&t, "\(i).conv.4", w, w, k: 3))
        }
        var stages: [Stage] = []
        // Sequential layout: blocks at 3-5, 8-10, 13-15, 18; upsample+conv at 6/7, 11/12, 16/17.
        for first in [3, 8, 13] {
            let blocks = [try block(first, &t), try block(first + 1, &t), try block(first + 2, &t)]
            stages.append(Stage(blocks: blocks, upConv: try takeConv(&t, "\(first + 4)", w, w, k: 3, bias: false)))
        }
        stages.append(Stage(blocks: [try block(18, &t)], upConv: nil))
        self.stages = stages
        convOut = try takeConv(&t, "19", w, 3, k: 3)
    }

    /// rgb (n, 3, 8h, 8w) = decoder(latent (n, C, h, w)). Resets the workspace arena on entry.
    func forward(_ rgb: Tensor4, _ latent: Tensor4, ws: Workspace) {
        precondition(latent.c == latentChannels && rgb.c == 3 && rgb.n == latent.n &&
                     rgb.h == 8 * latent.h && rgb.w == 8 * latent.w)
        let arena = ws.arena
        arena.reset()
        let n = latent.n, full = n * width * 64 * latent.plane
        // Three ping-pong buffers of the largest activation, plus one for upsampling.
        var bufs = [arena.alloc(full), arena.alloc(full), arena.alloc(full)]
        let upBuf = arena.alloc(full)
        // Clamp: tanh(x / 3) * 3.
        let clamped = Tensor4(arena.alloc(latent.count), n, latentChannels, latent.h, latent.w)
        for i in 0..<latent.count { clamped.data[i] = tanhf(latent.data[i] / 3) * 3 }
        var x = Tensor4(bufs[0], n, width, latent.h, latent.w)
        conv2d(x, clamped, convIn, ConvEpilogue(relu: true), ws: ws)
        for stage in stages {
            for blk in stage.blocks {
                // bufs[0] holds x; compute into bufs[1], bufs[2], then the block output into bufs[1].
                let a = Tensor4(bufs[1], n, width, x.h, x.w), c = Tensor4(bufs[2], n, width, x.h, x.w)
                conv2d(a, x, blk.c0, ConvEpilogue(relu: true), ws: ws)
                conv2d(c, a, blk.c1, ConvEpilogue(relu: true), ws: ws)
                conv2d(a, c, blk.c2, ConvEpilogue(residual: x.data, relu: true), ws: ws)
                bufs.swapAt(0, 1)
                x = a
            }
            if let upConv = stage.upConv {
                let big = Tensor4(upBuf, n, width, 2 * x.h, 2 * x.w)
                upsampleNearest2x(big, x, threads: ws.threads)
                let y = Tensor4(bufs[1], n, width, big.h, big.w)
                conv2d(y, big, upConv, ws: ws)
                bufs.swapAt(0, 1)
                x = y
            }
        }
        conv2d(rgb, x, convOut, ws: ws)
    }
}
