// Role: thin wrappers over OpenBLAS `cblas_sgemm` (row-major) and the linear layer, plus the
// process-wide BLAS setup: BLAS is always called single-threaded (`BLASThreads.configure()`);
// parallelism comes from `parallelFor` over fixed tiles.
// Reference: CBLAS row-major sgemm; ggml-blas's "BLAS only where it pays, thread count set
// explicitly"; PyTorch's Linear weight layout (dout x din).
// Failure modes: empty dimensions or a bias of the wrong length are programming errors
// (`precondition`); OpenBLAS itself reports nothing.

import CBLAS

/// Process-wide BLAS setup: the right kernels for the CPU (`BLASCore`), and one BLAS thread, so
/// each of our workers runs its own sgemm and worker count alone decides how many cores are busy
/// (no oversubscription).
enum BLASThreads {
    static let configured: BLASCore.Selection = {
        let selection = BLASCore.select()
        openblas_set_num_threads(1)
        return selection
    }()
    static func configure() { _ = configured }
}

/// C[M x N] = alpha * A[M x K] * B[K x N] + beta * C (row-major, leading dimensions given).
@inline(__always)
func sgemm(
    _ c: UnsafeMutablePointer<Float>, ldc: Int,
    _ a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
    _ b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
    m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0
) {
    precondition(m > 0 && n > 0 && k > 0)
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Linear layer: out[rows x dout] = x[rows x din] * W^T (+ bias), W stored [dout x din] (PyTorch).
/// Rows are split into fixed blocks of 64 over the workers.
func linear(
    _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int,
    weight: Param, bias: Param?, threads: Int
) {
    let dout = weight.shape[0], din = weight.shape[1]
    precondition(bias == nil || bias!.count == dout)
    let block = 64
    let blocks = (rows + block - 1) / block
    parallelFor(blocks, threads: blocks >= 2 && rows * din * dout >= 1 << 18 ? threads : 1) { _, bi in
        let r0 = bi * block, r = min(block, rows - r0)
        sgemm(out + r0 * dout, ldc: dout, x + r0 * din, lda: din, weight.data, ldb: din, transB: true,
              m: r, n: dout, k: din)
        if let bias {
            for i in r0..<(r0 + r) {
                let row = out + i * dout
                for j in 0..<dout { row[j] += bias.data[j] }
            }
        }
    }
}
