// Role: conv2d as GEMM on OpenBLAS (groups = 1), NCHW, with a fused epilogue (bias, channel
// add, residual, ReLU). k x k convolutions build an im2col matrix for a few output rows at a
// time (a tile of about `tileColumns` output pixels, never the whole image) and multiply it by
// the weights with one single-threaded sgemm per tile; tiles are spread over the workers. 1x1
// stride-1 convolutions multiply the input planes directly; eligible 3x3 convs go to Winograd.
// Tiles depend only on shapes, so results are identical for every thread count.
// Reference: torch.nn.functional.conv2d (cross-correlation, zero padding); im2col + GEMM as in
// Caffe; fixture ops.safetensors and a naive reference in OpsTests.
// Failure modes: mismatched shapes or an in-place call are programming errors (`precondition`).

/// A convolution's weights and geometry. weight (cout, cin, k, k), bias (cout) or nil.
struct Conv2d {
    let weight: Param
    let bias: Param?
    let stride: Int
    let padding: Int
    /// Winograd-transformed weights (16, cout, cin) when the conv is eligible, else nil.
    var winograd: UnsafePointer<Float>? = nil

    var cout: Int { weight.shape[0] }
    var cin: Int { weight.shape[1] }
    var k: Int { weight.shape[2] }

    /// Output spatial size for an input of `h` x `w`.
    func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
        ((h + 2 * padding - k) / stride + 1, (w + 2 * padding - k) / stride + 1)
    }
}

/// What happens to each output element after the GEMM, in this order:
/// + bias, + channelAdd[n, c], + residual (same shape as the output), then ReLU if set.
struct ConvEpilogue {
    var channelAdd: UnsafePointer<Float>? = nil   // (n, cout)
    var residual: UnsafePointer<Float>? = nil     // same layout as the output
    var relu = false
}

/// Output pixels per im2col tile (rows are whole output rows, at least one).
let tileColumns = 512

/// out (n, cout, ho, wo) = conv(x (n, cin, h, w)) with the epilogue applied.
func conv2d(_ out: Tensor4, _ x: Tensor4, _ conv: Conv2d, _ epilogue: ConvEpilogue = .init(), ws: Workspace) {
    let (ho, wo) = conv.outputSize(x.h, x.w)
    precondition(x.c == conv.cin && out.c == conv.cout && out.n == x.n && out.h == ho && out.w == wo,
                 "conv2d shape mismatch")
    precondition(out.data != x.data, "conv2d cannot run in place")
    if let u = conv.winograd {
        winogradConv(out, x, conv, u: u, epilogue, ws: ws)
        return
    }
    let cout = conv.cout, opl = ho * wo
    let pointwise = conv.k == 1 && conv.stride == 1 && conv.padding == 0
    let kdim = conv.cin * conv.k * conv.k
    // Tiles: (image, first output row, rows).
    let rowsPerTile = max(1, min(ho, tileColumns / wo))
    let tilesPerImage = (ho + rowsPerTile - 1) / rowsPerTile
    if !pointwise { ws.reserveColumns(kdim * rowsPerTile * wo) }
    parallelFor(x.n * tilesPerImage, threads: ws.threads) { worker, tile in
        let img = tile / tilesPerImage
        let oy0 = (tile % tilesPerImage) * rowsPerTile
        let rows = min(rowsPerTile, ho - oy0)
        let cols = rows * wo
        let dst = out.image(img) + oy0 * wo
        if pointwise {
            sgemm(dst, ldc: opl, conv.weight.data, lda: kdim, x.image(img) + oy0 * wo, ldb: x.plane,
                  m: cout, n: cols, k: kdim)
        } else {
            let col = ws.columnBuffer(worker)
            im2col(col, x, image: img, conv: conv, oy0: oy0, rows: rows, wo: wo)
            sgemm(dst, ldc: opl, conv.weight.data, lda: kdim, col, ldb: cols, m: cout, n: cols, k: kdim)
        }
        applyEpilogue(dst, ldc: opl, cols: cols, cout: cout, image: img, bias: conv.bias,
                      epilogue, residualOffset: img * cout * opl + oy0 * wo)
    }
}

/// col (cin*k*k, rows*wo): row (ci, ky, kx) holds x[ci, oy*s - p + ky, ox*s - p + kx] (0 outside).
@inline(__always)
private func im2col(_ col: UnsafeMutablePointer<Float>, _ x: Tensor4, image: Int, conv: Conv2d,
                    oy0: Int, rows: Int, wo: Int) {
    let k = conv.k, s = conv.stride, p = conv.padding, w = x.w, h = x.h
    let cols = rows * wo
    let src = x.image(image)
    for ci in 0..<x.c {
        let plane = src + ci * x.plane
        for ky in 0..<k {
            for kx in 0..<k {
                let dstBase = col + ((ci * k + ky) * k + kx) * cols
                // Valid output columns: 0 <= ox*s - p + kx < w.
                let oxLo = min(wo, max(0, (p - kx + s - 1) / s))
                let last = w - 1 + p - kx
                let oxHi = last < 0 ? oxLo : max(oxLo, min(wo, last / s + 1))
                for r in 0..<rows {
                    let d = dstBase + r * wo
                    let iy = (oy0 + r) * s - p + ky
                    if iy < 0 || iy >= h {
                        fillZero(d, wo)
                        continue
                    }
                    let srow = plane + iy * w
                    for ox in 0..<oxLo { d[ox] = 0 }
                    if s == 1 {
                        copyFloats(d + oxLo, srow + (oxLo - p + kx), oxHi - oxLo)
                    } else {
                        for ox in oxLo..<oxHi { d[ox] = srow[ox * s - p + kx] }
                    }
                    for ox in oxHi..<wo { d[ox] = 0 }
                }
            }
        }
    }
}

/// Copies `n` floats; inline vector moves, since im2col rows are short (4-128 floats) and a
/// memmove call per row cost more than the copy (10% of a denoiser step in a profile).
@inline(__always)
func copyFloats(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ n: Int) {
    if n >= 256 { d.update(from: s, count: n); return }
    var i = 0
    while i + 8 <= n { storeSIMD8(d + i, loadSIMD8(s + i)); i += 8 }
    if i + 4 <= n {
        UnsafeMutableRawPointer(d + i).storeBytes(of: UnsafeRawPointer(s + i).loadUnaligned(as: SIMD4<Float>.self),
                                                  as: SIMD4<Float>.self)
        i += 4
    }
    while i < n { d[i] = s[i]; i += 1 }
}

/// Sets `n` floats to zero (inline for short rows, like `copyFloats`).
@inline(__always)
func fillZero(_ d: UnsafeMutablePointer<Float>, _ n: Int) {
    if n >= 256 { d.update(repeating: 0, count: n); return }
    var i = 0
    while i + 8 <= n { storeSIMD8(d + i, SIMD8()); i += 8 }
    while i < n { d[i] = 0; i += 1 }
}

/// Applies bias, channel add, residual and ReLU to one output tile (cout rows of `cols`).
@inline(__always)
private func applyEpilogue(_ dst: UnsafeMutablePointer<Float>, ldc: Int, cols: Int, cout: Int, image: Int,
                           bias: Param?, _ e: ConvEpilogue, residualOffset: Int) {
    for co in 0..<cout {
        var add: Float = bias?.data[co] ?? 0
        if let ca = e.channelAdd { add += ca[image * cout + co] }
        let row = dst + co * ldc
        if let res = e.residual {
            let r = res + residualOffset + co * ldc
            if e.relu {
                for j in 0..<cols { row[j] = max(0, row[j] + add + r[j]) }
            } else {
                for j in 0..<cols { row[j] = row[j] + add + r[j] }
            }
        } else if e.relu {
            for j in 0..<cols { row[j] = max(0, row[j] + add) }
        } else if add != 0 {
            for j in 0..<cols { row[j] += add }
        }
    }
}
