// Winograd F(2x2, 3x3) for 3x3 stride-1 pad-1 convolutions (Lavin & Gray 2016): each 2x2 output
// tile costs 16 multiplies per (cin, cout) pair instead of 36, i.e. 2.25x fewer GEMM FLOPs.
// The 16 transformed products are batched sgemms: M[xi] (cout x P) = U[xi] (cout x cin) V[xi] (cin x P)
// over a group of P tiles (a few tile rows of one image). Groups depend only on shapes, so the
// result is the same for every thread count. Transforms:
//   U = G g G^T,  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]         (weights, once at load)
//   V = B^T d B,  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]  (4x4 input patch d)
//   Y = A^T M A,  A^T = [1 1 1 0; 0 1 -1 -1]                      (2x2 output)
// Status: correct (tests compare it with a direct loop and PyTorch) but opt-in, because it is
// slower here: thread CPU time of one 64->64 3x3 conv at 128x128, one thread, was 19.7 ms with
// tiled im2col vs 21-25 ms with this code (32->32: 5.7 vs 9-11 ms); the scalar, scattered
// input/output transforms cost more than the 2.25x fewer GEMM FLOPs save. Vectorising the
// transforms across tiles (or F(4x4, 3x3)) is the next step.

/// Whether `conv` runs through Winograd: 3x3, stride 1, padding 1, enough input channels for
/// the transforms to pay off.
func winogradEligible(_ weight: Param, stride: Int, padding: Int) -> Bool {
    weight.shape.count == 4 && weight.shape[2] == 3 && weight.shape[3] == 3 && stride == 1 && padding == 1 && weight.shape[1] >= 16
}

/// U (16, cout, cin) from g (cout, cin, 3, 3).
func winogradTransformWeights(_ u: UnsafeMutablePointer<Float>, _ g: Param) {
    let cout = g.shape[0], cin = g.shape[1]
    for co in 0..<cout {
        for ci in 0..<cin {
            let k = g.data + (co * cin + ci) * 9
            // t = G g (4x3)
            var t = [Float](repeating: 0, count: 12)
            for j in 0..<3 {
                let g0 = k[j], g1 = k[3 + j], g2 = k[6 + j]
                t[j] = g0
                t[3 + j] = 0.5 * (g0 + g1 + g2)
                t[6 + j] = 0.5 * (g0 - g1 + g2)
                t[9 + j] = g2
            }
            // U = t G^T (4x4)
            for i in 0..<4 {
                let a = t[3 * i], b = t[3 * i + 1], c = t[3 * i + 2]
                let row = [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
                for j in 0..<4 { u[((i * 4 + j) * cout + co) * cin + ci] = row[j] }
            }
        }
    }
}

/// Tiles per Winograd group (about; whole tile rows).
let winogradGroupTiles = 32

/// out (n, cout, h, w) = conv3x3(x) via Winograd, epilogue as in `conv2d`.
func winogradConv(_ out: Tensor4, _ x: Tensor4, _ conv: Conv2d, u: UnsafePointer<Float>, _ e: ConvEpilogue, ws: Workspace) {
    let cin = x.c, cout = conv.cout, h = x.h, w = x.w
    let th = (h + 1) / 2, tw = (w + 1) / 2
    let rowsPerGroup = max(1, min(th, winogradGroupTiles / tw))
    let groupsPerImage = (th + rowsPerGroup - 1) / rowsPerGroup
    let maxP = rowsPerGroup * tw
    ws.reserveColumns(16 * (cin + cout) * maxP)
    parallelFor(x.n * groupsPerImage, threads: ws.threads) { worker, item in
        let img = item / groupsPerImage, ty0 = (item % groupsPerImage) * rowsPerGroup
        let rows = min(rowsPerGroup, th - ty0), p = rows * tw
        let v = ws.columnBuffer(worker), m = v + 16 * cin * p
        inputTransform(v, x.image(img), cin: cin, h: h, w: w, ty0: ty0, rows: rows, tw: tw)
        for xi in 0..<16 {
            sgemm(m + xi * cout * p, ldc: p, u + xi * cout * cin, lda: cin, v + xi * cin * p, ldb: p, m: cout, n: p, k: cin)
        }
        outputTransform(out, m, conv: conv, e, image: img, ty0: ty0, rows: rows, tw: tw, p: p)
    }
}

/// v (16, cin, p): B^T d B for every tile of the group.
@inline(__always)
private func inputTransform(_ v: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, cin: Int, h: Int, w: Int,
                            ty0: Int, rows: Int, tw: Int) {
    let p = rows * tw, stride = cin * p
    for ci in 0..<cin {
        let plane = src + ci * h * w
        for r in 0..<rows {
            let y0 = 2 * (ty0 + r) - 1
            for tx in 0..<tw {
                let x0 = 2 * tx - 1
                @inline(__always) func load(_ iy: Int) -> SIMD4<Float> {
                    guard iy >= 0 && iy < h else { return SIMD4() }
                    let row = plane + iy * w
                    if x0 >= 0 && x0 + 3 < w { return SIMD4(row[x0], row[x0 + 1], row[x0 + 2], row[x0 + 3]) }
                    var s = SIMD4<Float>()
                    for j in 0..<4 where x0 + j >= 0 && x0 + j < w { s[j] = row[x0 + j] }
                    return s
                }
                let d0 = load(y0), d1 = load(y0 + 1), d2 = load(y0 + 2), d3 = load(y0 + 3)
                // Rows: B^T d.
                let r0 = d0 - d2, r1 = d1 + d2, r2 = d2 - d1, r3 = d1 - d3
                let o = v + ci * p + r * tw + tx
                columnTransform(o, r0, stride)
                columnTransform(o + 4 * stride, r1, stride)
                columnTransform(o + 8 * stride, r2, stride)
                columnTransform(o + 12 * stride, r3, stride)
            }
        }
    }
}

/// Writes (row) B, element i at dst[i * stride].
@inline(__always)
private func columnTransform(_ dst: UnsafeMutablePointer<Float>, _ row: SIMD4<Float>, _ stride: Int) {
    dst[0] = row[0] - row[2]
    dst[stride] = row[1] + row[2]
    dst[2 * stride] = row[2] - row[1]
    dst[3 * stride] = row[1] - row[3]
}

/// A^T M A for every tile and output channel, then the epilogue, written into `out`.
@inline(__always)
private func outputTransform(_ out: Tensor4, _ m: UnsafeMutablePointer<Float>, conv: Conv2d, _ e: ConvEpilogue,
                             image: Int, ty0: Int, rows: Int, tw: Int, p: Int) {
    let cout = out.c, h = out.h, w = out.w, stride = cout * p
    let base = out.image(image)
    let resBase = e.residual.map { $0 + image * cout * h * w }
    for co in 0..<cout {
        var add: Float = conv.bias?.data[co] ?? 0
        if let ca = e.channelAdd { add += ca[image * cout + co] }
        let plane = base + co * h * w
        let resPlane = resBase.map { $0 + co * h * w }
        for r in 0..<rows {
            let oy = 2 * (ty0 + r)
            for tx in 0..<tw {
                let q = m + co * p + r * tw + tx
                let m0 = SIMD4(q[0], q[stride], q[2 * stride], q[3 * stride])
                let m1 = SIMD4(q[4 * stride], q[5 * stride], q[6 * stride], q[7 * stride])
                let m2 = SIMD4(q[8 * stride], q[9 * stride], q[10 * stride], q[11 * stride])
                let m3 = SIMD4(q[12 * stride], q[13 * stride], q[14 * stride], q[15 * stride])
                // Rows: A^T M (2x4).
                let a0 = m0 + m1 + m2, a1 = m1 - m2 - m3
                // Columns: (.) A (2x2).
                let y00 = a0[0] + a0[1] + a0[2], y01 = a0[1] - a0[2] - a0[3]
                let y10 = a1[0] + a1[1] + a1[2], y11 = a1[1] - a1[2] - a1[3]
                let ox = 2 * tx
                let o = oy * w + ox, right = ox + 1 < w
                store(plane, o, y00 + add, resPlane, e.relu)
                if right { store(plane, o + 1, y01 + add, resPlane, e.relu) }
                if oy + 1 < h {
                    store(plane, o + w, y10 + add, resPlane, e.relu)
                    if right { store(plane, o + w + 1, y11 + add, resPlane, e.relu) }
                }
            }
        }
    }
}

@inline(__always)
private func store(_ plane: UnsafeMutablePointer<Float>, _ o: Int, _ v: Float, _ res: UnsafePointer<Float>?, _ relu: Bool) {
    var y = v
    if let res { y += res[o] }
    plane[o] = relu ? max(0, y) : y
}
