// Role: Winograd F(2x2, 3x3) for 3x3 stride-1 pad-1 convolutions with at least 16 input
// channels: each 2x2 output tile costs 16 multiplies per (cin, cout) pair instead of 36, i.e.
// 2.25x fewer GEMM FLOPs. The 16 transformed products are batched sgemms:
// M[xi] (cout x P) = U[xi] (cout x cin) V[xi] (cin x P) over a group of P tiles (a few tile rows
// of one image). Groups depend only on shapes, so the result is the same for every thread count.
// Transforms:
//   U = G g G^T,  G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]         (weights, once at load)
//   V = B^T d B,  B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]  (4x4 input patch d)
//   Y = A^T M A,  A^T = [1 1 1 0; 0 1 -1 -1]                      (2x2 output)
// Transforms are vectorised across 8 tiles of a tile row: an input row is split into its even
// and odd columns once (E, O), which turns d B's column combinations into whole-vector adds;
// B^T (.) then combines four such rows; A^T M A reads 16 contiguous vectors of M per 8 tiles
// and writes the 2x2 outputs interleaved (a scalar tile-at-a-time version, 16 scattered floats
// per tile, is slower than im2col). On by default (`TwinModel.load(directory:winograd:)`);
// what it gains is measured in docs/inference.md.
// Reference: Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks".
// Failure modes: none thrown; shapes are checked by `conv2d`, its caller (`precondition`).
// Results are within 1e-5 (relative to the largest value) of the direct convolution
// (`OpsTests.convMatchesNaive`: odd sizes, widths that are and are not multiples of 16).

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

/// Tiles per Winograd group, about (whole tile rows; at least 4 groups per image when the image
/// has 4 tile rows, so two workers have work on one image, except for images of at most
/// `winogradWholeImageTiles` tiles). Depends only on shapes.
let winogradGroupTiles = 256

/// Rows of tiles per group for an image of `th` x `tw` tiles.
@inline(__always)
func winogradRowsPerGroup(th: Int, tw: Int, splitSmall: Bool = false) -> Int {
    if !splitSmall && th * tw <= winogradWholeImageTiles { return th }
    return max(1, min(winogradGroupTiles / tw, (th + 3) / 4))
}

/// Images with at most this many tiles (16x16 and smaller) are one group: the denoiser's
/// latents, where 4 groups of 16 tiles meant 64 sgemms with N = 16 per conv and per-call
/// overhead dominated (CPU per denoiser step, 1 thread: 3.9 -> 2.2 ms). Not for workspaces
/// with `splitsSmallImages` (the decoder's, whose batch-1 16x16 stage would run on one worker).
let winogradWholeImageTiles = 64

/// Floats added between consecutive transformed matrices (V, M) of a group.
let winogradSkew = 16

/// out (n, cout, h, w) = conv3x3(x) via Winograd, epilogue as in `conv2d`.
func winogradConv(_ out: Tensor4, _ x: Tensor4, _ conv: Conv2d, u: UnsafePointer<Float>, _ e: ConvEpilogue, ws: Workspace) {
    let cin = x.c, cout = conv.cout, h = x.h, w = x.w
    let th = (h + 1) / 2, tw = (w + 1) / 2
    let rowsPerGroup = winogradRowsPerGroup(th: th, tw: tw, splitSmall: ws.splitsSmallImages)
    let groupsPerImage = (th + rowsPerGroup - 1) / rowsPerGroup
    let maxP = rowsPerGroup * tw
    let twPad = (tw + 8) & ~7           // row scratch stride (>= tw + 1, multiple of 8)
    let scratch = (2 * rowsPerGroup + 2) * 4 * twPad + 2 * twPad + 16
    ws.reserveColumns(16 * (cin * maxP + cout * maxP + 2 * winogradSkew) + scratch)
    parallelFor(x.n * groupsPerImage, threads: ws.threads) { worker, item in
        let img = item / groupsPerImage, ty0 = (item % groupsPerImage) * rowsPerGroup
        let rows = min(rowsPerGroup, th - ty0), p = rows * tw
        // The 16 V and M matrices are `vs` and `ms` floats apart: skewed by 16 floats so that
        // they do not all map to the same L1 sets (cin * p is often a multiple of 1024).
        let vs = cin * p + winogradSkew, ms = cout * p + winogradSkew
        let v = ws.columnBuffer(worker), m = v + 16 * vs, rowScratch = m + 16 * ms
        inputTransform(v, x.image(img), cin: cin, h: h, w: w, ty0: ty0, rows: rows, tw: tw, twPad: twPad,
                       stride: vs, scratch: rowScratch)
        for xi in 0..<16 {
            sgemm(m + xi * ms, ldc: p, u + xi * cout * cin, lda: cin, v + xi * vs, ldb: p, m: cout, n: p, k: cin)
        }
        outputTransform(out, m, conv: conv, e, image: img, ty0: ty0, rows: rows, tw: tw, p: p, stride: ms)
    }
}

/// v (16, cin, p): B^T d B for every tile of the group (tile rows ty0..<ty0+rows, tw per row).
/// For input row iy (zero outside the image) with ev[t] = x[2t], od[t] = x[2t+1] (zero past the
/// edge), d B for the tiles of the row is, per tile t (whose patch starts at column 2t - 1):
///   c0 = od[t-1] - od[t],  c1 = ev[t] + od[t],  c2 = od[t] - ev[t],  c3 = ev[t] - ev[t+1].
@inline(__always)
private func inputTransform(_ v: UnsafeMutablePointer<Float>, _ src: UnsafeMutablePointer<Float>, cin: Int, h: Int, w: Int,
                            ty0: Int, rows: Int, tw: Int, twPad: Int, stride: Int, scratch: UnsafeMutablePointer<Float>) {
    let p = rows * tw
    let inRows = 2 * rows + 2, firstRow = 2 * ty0 - 1
    let c = scratch + 2 * twPad + 16    // (inRows, 4, twPad): the four d B rows of each input row
    let evenW = w / 2                   // columns with both ev and od inside the image
    if w % 16 == 0 {
        // Widths of whole 8-tile blocks: d B of the four input rows of a tile row stays in
        // registers and B^T (.) is applied at once (no c scratch). Same operations, same order.
        for ci in 0..<cin {
            let plane = src + ci * h * w
            for r in 0..<rows {
                let o = v + ci * p + r * tw
                var t = 0
                while t < tw {
                    @inline(__always) func rowC(_ k: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                        let iy = firstRow + 2 * r + k
                        if iy < 0 || iy >= h { return (SIMD8(), SIMD8(), SIMD8(), SIMD8()) }
                        let row = plane + iy * w
                        let pair = UnsafeRawPointer(row + 2 * t).loadUnaligned(as: SIMD16<Float>.self)
                        let e0 = pair.evenHalf, o0 = pair.oddHalf
                        let prev: Float = t > 0 ? row[2 * t - 1] : 0
                        let next: Float = 2 * t + 16 < w ? row[2 * t + 16] : 0
                        let om = SIMD8(prev, o0[0], o0[1], o0[2], o0[3], o0[4], o0[5], o0[6])
                        let e1 = SIMD8(e0[1], e0[2], e0[3], e0[4], e0[5], e0[6], e0[7], next)
                        return (om - o0, e0 + o0, o0 - e0, e0 - e1)
                    }
                    let r0 = rowC(0), r1 = rowC(1), r2 = rowC(2), r3 = rowC(3)
                    @inline(__always) func put(_ i: Int, _ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>) {
                        storeSIMD8(o + i * stride + t, d0 - d2)
                        storeSIMD8(o + (4 + i) * stride + t, d1 + d2)
                        storeSIMD8(o + (8 + i) * stride + t, d2 - d1)
                        storeSIMD8(o + (12 + i) * stride + t, d1 - d3)
                    }
                    put(0, r0.0, r1.0, r2.0, r3.0)
                    put(1, r0.1, r1.1, r2.1, r3.1)
                    put(2, r0.2, r1.2, r2.2, r3.2)
                    put(3, r0.3, r1.3, r2.3, r3.3)
                    t += 8
                }
            }
        }
        return
    }
    for ci in 0..<cin {
        let plane = src + ci * h * w
        for k in 0..<inRows {
            let iy = firstRow + k
            let ck = c + k * 4 * twPad
            guard iy >= 0 && iy < h else {
                for j in 0..<(4 * twPad) { ck[j] = 0 }
                continue
            }
            let row = plane + iy * w
            let c0 = ck, c1 = ck + twPad, c2 = ck + 2 * twPad, c3 = ck + 3 * twPad
            // Even/odd columns straight from the row, in registers: the neighbours od[t-1] and
            // ev[t+8] are scalar loads, so nothing is re-read from a just-written scratch row
            // (the old split into ev/od rows and unaligned re-loads of them stalled on
            // store-to-load forwarding: a third of the transform's time at 16x16).
            var t = 0
            while t + 8 <= evenW {
                let pair = UnsafeRawPointer(row + 2 * t).loadUnaligned(as: SIMD16<Float>.self)
                let e0 = pair.evenHalf, o0 = pair.oddHalf
                let prev: Float = t > 0 ? row[2 * t - 1] : 0
                let next: Float = 2 * t + 16 < w ? row[2 * t + 16] : 0
                let om = SIMD8(prev, o0[0], o0[1], o0[2], o0[3], o0[4], o0[5], o0[6])
                let e1 = SIMD8(e0[1], e0[2], e0[3], e0[4], e0[5], e0[6], e0[7], next)
                storeSIMD8(c0 + t, om - o0)
                storeSIMD8(c1 + t, e0 + o0)
                storeSIMD8(c2 + t, o0 - e0)
                storeSIMD8(c3 + t, e0 - e1)
                t += 8
            }
            while t + 4 <= evenW {
                let pair = UnsafeRawPointer(row + 2 * t).loadUnaligned(as: SIMD8<Float>.self)
                let e0 = pair.evenHalf, o0 = pair.oddHalf
                let prev: Float = t > 0 ? row[2 * t - 1] : 0
                let next: Float = 2 * t + 8 < w ? row[2 * t + 8] : 0
                let om = SIMD4(prev, o0[0], o0[1], o0[2])
                let e1 = SIMD4(e0[1], e0[2], e0[3], next)
                store4(c0 + t, om - o0)
                store4(c1 + t, e0 + o0)
                store4(c2 + t, o0 - e0)
                store4(c3 + t, e0 - e1)
                t += 4
            }
            @inline(__always) func ev(_ j: Int) -> Float { 2 * j < w ? row[2 * j] : 0 }
            @inline(__always) func od(_ j: Int) -> Float { j >= 0 && 2 * j + 1 < w ? row[2 * j + 1] : 0 }
            while t < tw {
                let e0 = ev(t), o0 = od(t)
                c0[t] = od(t - 1) - o0; c1[t] = e0 + o0; c2[t] = o0 - e0; c3[t] = e0 - ev(t + 1)
                t += 1
            }
        }
        // B^T (.) over the four input rows 2r-1 .. 2r+2 of each tile row r.
        for r in 0..<rows {
            let k0 = c + 2 * r * 4 * twPad, k1 = k0 + 4 * twPad, k2 = k1 + 4 * twPad, k3 = k2 + 4 * twPad
            let o = v + ci * p + r * tw
            for i in 0..<4 {
                let a0 = k0 + i * twPad, a1 = k1 + i * twPad, a2 = k2 + i * twPad, a3 = k3 + i * twPad
                let v0 = o + i * stride, v1 = o + (4 + i) * stride, v2 = o + (8 + i) * stride, v3 = o + (12 + i) * stride
                var t = 0
                while t + 8 <= tw {
                    let d0 = loadSIMD8(a0 + t), d1 = loadSIMD8(a1 + t), d2 = loadSIMD8(a2 + t), d3 = loadSIMD8(a3 + t)
                    storeSIMD8(v0 + t, d0 - d2)
                    storeSIMD8(v1 + t, d1 + d2)
                    storeSIMD8(v2 + t, d2 - d1)
                    storeSIMD8(v3 + t, d1 - d3)
                    t += 8
                }
                while t + 4 <= tw {
                    let d0 = load4(a0 + t), d1 = load4(a1 + t), d2 = load4(a2 + t), d3 = load4(a3 + t)
                    store4(v0 + t, d0 - d2)
                    store4(v1 + t, d1 + d2)
                    store4(v2 + t, d2 - d1)
                    store4(v3 + t, d1 - d3)
                    t += 4
                }
                while t < tw {
                    let d0 = a0[t], d1 = a1[t], d2 = a2[t], d3 = a3[t]
                    v0[t] = d0 - d2; v1[t] = d1 + d2; v2[t] = d2 - d1; v3[t] = d1 - d3
                    t += 1
                }
            }
        }
    }
}

@inline(__always)
private func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self) }

@inline(__always)
private func store4(_ p: UnsafeMutablePointer<Float>, _ v: SIMD4<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
}

/// [a0, b0, a1, b1, a2, b2, a3, b3]
@inline(__always)
private func interleave4(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> SIMD8<Float> {
    SIMD8(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3])
}

/// [a0, b0, a1, b1, ...]
@inline(__always)
private func interleave(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD16<Float> {
    SIMD16(a[0], b[0], a[1], b[1], a[2], b[2], a[3], b[3], a[4], b[4], a[5], b[5], a[6], b[6], a[7], b[7])
}

/// A^T M A for every tile and output channel, then the epilogue, written into `out`.
@inline(__always)
private func outputTransform(_ out: Tensor4, _ m: UnsafeMutablePointer<Float>, conv: Conv2d, _ e: ConvEpilogue,
                             image: Int, ty0: Int, rows: Int, tw: Int, p: Int, stride: Int) {
    let cout = out.c, h = out.h, w = out.w
    let base = out.image(image)
    let resBase = e.residual.map { $0 + image * cout * h * w }
    let zero = SIMD16<Float>()
    for co in 0..<cout {
        var add: Float = conv.bias?.data[co] ?? 0
        if let ca = e.channelAdd { add += ca[image * cout + co] }
        let plane = base + co * h * w
        let resPlane = resBase.map { $0 + co * h * w }
        for r in 0..<rows {
            let oy = 2 * (ty0 + r)
            let lower = oy + 1 < h
            let q = m + co * p + r * tw
            var t = 0
            // Vector path: 8 tiles = 16 output columns, all inside the image.
            while t + 8 <= tw && 2 * t + 16 <= w {
                @inline(__always) func ld(_ xi: Int) -> SIMD8<Float> { loadSIMD8(q + xi * stride + t) }
                let a00 = ld(0) + ld(4) + ld(8), a01 = ld(1) + ld(5) + ld(9)
                let a02 = ld(2) + ld(6) + ld(10), a03 = ld(3) + ld(7) + ld(11)
                let a10 = ld(4) - ld(8) - ld(12), a11 = ld(5) - ld(9) - ld(13)
                let a12 = ld(6) - ld(10) - ld(14), a13 = ld(7) - ld(11) - ld(15)
                let y00 = a00 + a01 + a02 + add, y01 = a01 - a02 - a03 + add
                let y10 = a10 + a11 + a12 + add, y11 = a11 - a12 - a13 + add
                let o0 = oy * w + 2 * t
                var top = interleave(y00, y01)
                if let resPlane { top += UnsafeRawPointer(resPlane + o0).loadUnaligned(as: SIMD16<Float>.self) }
                if e.relu { top = top.replacing(with: zero, where: top .< zero) }
                UnsafeMutableRawPointer(plane + o0).storeBytes(of: top, as: SIMD16<Float>.self)
                if lower {
                    var bottom = interleave(y10, y11)
                    if let resPlane { bottom += UnsafeRawPointer(resPlane + o0 + w).loadUnaligned(as: SIMD16<Float>.self) }
                    if e.relu { bottom = bottom.replacing(with: zero, where: bottom .< zero) }
                    UnsafeMutableRawPointer(plane + o0 + w).storeBytes(of: bottom, as: SIMD16<Float>.self)
                }
                t += 8
            }
            // 4 tiles = 8 output columns (8-wide images), same operation order.
            while t + 4 <= tw && 2 * t + 8 <= w {
                @inline(__always) func ld(_ xi: Int) -> SIMD4<Float> { load4(q + xi * stride + t) }
                let a00 = ld(0) + ld(4) + ld(8), a01 = ld(1) + ld(5) + ld(9)
                let a02 = ld(2) + ld(6) + ld(10), a03 = ld(3) + ld(7) + ld(11)
                let a10 = ld(4) - ld(8) - ld(12), a11 = ld(5) - ld(9) - ld(13)
                let a12 = ld(6) - ld(10) - ld(14), a13 = ld(7) - ld(11) - ld(15)
                let y00 = a00 + a01 + a02 + add, y01 = a01 - a02 - a03 + add
                let y10 = a10 + a11 + a12 + add, y11 = a11 - a12 - a13 + add
                let o0 = oy * w + 2 * t
                let zero8 = SIMD8<Float>()
                var top = interleave4(y00, y01)
                if let resPlane { top += loadSIMD8(resPlane + o0) }
                if e.relu { top = top.replacing(with: zero8, where: top .< zero8) }
                storeSIMD8(plane + o0, top)
                if lower {
                    var bottom = interleave4(y10, y11)
                    if let resPlane { bottom += loadSIMD8(resPlane + o0 + w) }
                    if e.relu { bottom = bottom.replacing(with: zero8, where: bottom .< zero8) }
                    storeSIMD8(plane + o0 + w, bottom)
                }
                t += 4
            }
            while t < tw {
                let s = q + t
                let m0 = SIMD4(s[0], s[stride], s[2 * stride], s[3 * stride])
                let m1 = SIMD4(s[4 * stride], s[5 * stride], s[6 * stride], s[7 * stride])
                let m2 = SIMD4(s[8 * stride], s[9 * stride], s[10 * stride], s[11 * stride])
                let m3 = SIMD4(s[12 * stride], s[13 * stride], s[14 * stride], s[15 * stride])
                // Rows: A^T M (2x4). Columns: (.) A (2x2). Same operation order as the vector path.
                let a0 = m0 + m1 + m2, a1 = m1 - m2 - m3
                let y00 = a0[0] + a0[1] + a0[2] + add, y01 = a0[1] - a0[2] - a0[3] + add
                let y10 = a1[0] + a1[1] + a1[2] + add, y11 = a1[1] - a1[2] - a1[3] + add
                let ox = 2 * t
                let o = oy * w + ox, right = ox + 1 < w
                store(plane, o, y00, resPlane, e.relu)
                if right { store(plane, o + 1, y01, resPlane, e.relu) }
                if lower {
                    store(plane, o + w, y10, resPlane, e.relu)
                    if right { store(plane, o + w + 1, y11, resPlane, e.relu) }
                }
                t += 1
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
