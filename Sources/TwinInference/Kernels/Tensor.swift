// Role: activation views (`Tensor4`, memory the caller owns) and weight references (`Param`,
// pointers into the model's immutable parameter memory, with their shape).
// Layout: NCHW (batch, channel, row, column), PyTorch's own. Chosen because (1) conv as GEMM
// then writes its output tile straight into place (C = W[Cout x K] * col[K x pixels], ldc = H*W),
// with the weights used as stored, no repacking; (2) im2col rows are shifted copies of
// contiguous input rows; (3) GroupNorm reduces over contiguous channel planes. The GEMMs have
// the same sizes in either layout. This was chosen by that reasoning, not by an NHWC
// measurement (none was made).
// Reference: PyTorch's contiguous NCHW tensors.
// Failure modes: none; views do not own or check their memory (kernels check shapes).

/// A batch of NCHW float activations in memory the caller owns (usually the `Arena`).
struct Tensor4 {
    let data: UnsafeMutablePointer<Float>
    let n: Int, c: Int, h: Int, w: Int

    init(_ data: UnsafeMutablePointer<Float>, _ n: Int, _ c: Int, _ h: Int, _ w: Int) {
        self.data = data; self.n = n; self.c = c; self.h = h; self.w = w
    }

    /// Pixels per channel plane.
    var plane: Int { h * w }
    /// Total element count.
    var count: Int { n * c * h * w }
    /// Start of image `i`.
    func image(_ i: Int) -> UnsafeMutablePointer<Float> { data + i * c * h * w }
}

/// A weight tensor: pointer into the model's immutable parameter memory plus its shape.
struct Param: @unchecked Sendable {
    let data: UnsafePointer<Float>
    let shape: [Int]
    var count: Int { shape.reduce(1, *) }
}
