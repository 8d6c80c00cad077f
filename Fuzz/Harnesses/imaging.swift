// Role: libFuzzer harness for PNG/JPEG decoding as `twinrender verify` does it (TwinImaging:
// `ImageInspector.decode`, then the XMP reader on the packet the file carries).
// Reference: libFuzzer's `LLVMFuzzerTestOneInput` contract (llvm.org/docs/LibFuzzer.html).
// Failure modes: a crash, an ASan report or a decoded image over `ImagingLimits` is a finding;
// a thrown `ImagingError` is the expected answer to bad input. The watermark detector is left
// out (it needs images of at least 128 px a side and dominates the run time). Built by
// `scripts/fuzz` together with the TwinImaging sources into one module.
import Foundation

/// Decodes the input as PNG or JPEG and reads its XMP; only crashes and broken limits count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImaging(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    guard let decoded = try? ImageInspector.decode(bytes) else { return 0 }
    precondition(decoded.image.width * decoded.image.height <= ImagingLimits.maximumPixels, "decoded past maximumPixels")
    precondition(decoded.image.pixels.count == decoded.image.width * decoded.image.height * 3, "pixel buffer size")
    if let xmp = decoded.xmp { _ = try? XMPPacket.properties(of: xmp) }
    return 0
}
