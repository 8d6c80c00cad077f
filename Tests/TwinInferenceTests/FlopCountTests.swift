// Graph FLOP counts (FlopCount.swift) against numbers derived by hand from the tiny fixture
// package's model.json, not by calling the counter: a conv is 2 * cout * cin * k * k * output
// pixels, a linear layer 2 * in * out, attention as in twinnet.Attention. If the counter or the
// architecture it walks changes, these numbers stop matching.

import Testing
@testable import TwinInference

@Suite struct FlopCountTests {
    // Fixtures/tiny-model at 64x64: latent 4 x 8 x 8; denoiser channels 16, channel_mult
    // [1, 2, 2], one ResBlock per level, emb_dim 32, ctx_dim 16, 6 context tokens (identity + 5
    // vocabularies); decoder width 16.

    /// One denoiser forward over one latent, by layer (conv3 = 18 * cin * cout * pixels,
    /// conv1 = 2 * cin * cout * pixels, emb_proj = 2 * 32 * cout):
    static let denoiserPerLatent: Double = [
        6_144,      // time_mlp (16->32, 32->32) + cond_mlp (16->32, 32->32): 2 * 3072
        73_728,     // conv_in 4->16 @ 8x8
        590_848,    // down.0.res.0 16->16 @ 8x8: 2 convs + emb_proj
        73_728,     // down.0.downsample 16->16, stride 2 -> 4x4
        460_800,    // down.1.res.0 16->32 @ 4x4: conv1, conv2, 1x1 skip, emb_proj
        73_728,     // down.1.downsample 32->32, stride 2 -> 2x2
        149_504,    // down.2.res.0 32->32 @ 2x2
        149_504,    // mid1
        132_096,    // mid_attn, 4 tokens of 32: self q/k/v/out 32768, scores+values 2048,
                    //   cross q/out 16384, k/v from 6x16 context 12288, scores+values 3072, MLP 65536
        149_504,    // mid2
        239_616,    // up.0.res.0 64->32 @ 2x2 (with skip)
        239_616,    // up.0.res.1 64->32 @ 2x2
        294_912,    // up.0.upsample conv 32->32 @ 4x4
        952_320,    // up.1.res.0 64->32 @ 4x4
        788_480,    // up.1.res.1 48->32 @ 4x4
        1_179_648,  // up.1.upsample conv 32->32 @ 8x8
        1_278_976,  // up.2.res.0 48->16 @ 8x8
        951_296,    // up.2.res.1 32->16 @ 8x8
        73_728,     // conv_out 16->4 @ 8x8
    ].reduce(0, +)

    /// One decoder pass over one latent: every 16->16 3x3 conv is 4608 FLOPs per output pixel;
    /// 9 at 8x8, up-conv at 16x16, 9 at 16x16, up-conv at 32x32, 9 at 32x32, up-conv at 64x64,
    /// 3 at 64x64; plus conv_in 4->16 @ 8x8 (73 728) and conv_out 16->3 @ 64x64 (3 538 944).
    static let decoderPerLatent: Double =
        4608 * Double(9 * 64 + 256 + 9 * 256 + 1024 + 9 * 1024 + 4096 + 3 * 4096) + 73_728 + 3_538_944

    @Test func denoiserMatchesHandCount() {
        let m = Fixtures.model
        #expect(Self.denoiserPerLatent == 7_858_176)
        #expect(m.denoiserFLOPs(batch: 1, width: 64, height: 64) == Self.denoiserPerLatent)
        // A guided step of 3 images is 6 latents: FLOPs scale with the batch.
        #expect(m.denoiserFLOPs(batch: 6, width: 64, height: 64) == 6 * Self.denoiserPerLatent)
    }

    @Test func decoderMatchesHandCount() {
        let m = Fixtures.model
        #expect(Self.decoderPerLatent == 140_746_752)
        #expect(m.decoderFLOPs(batch: 1, width: 64, height: 64) == Self.decoderPerLatent)
        #expect(m.decoderFLOPs(batch: 3, width: 64, height: 64) == 3 * Self.decoderPerLatent)
        // Every decoder layer is a conv, so 4x the pixels is exactly 4x the FLOPs.
        #expect(m.decoderFLOPs(batch: 1, width: 128, height: 128) == 4 * Self.decoderPerLatent)
    }
}
