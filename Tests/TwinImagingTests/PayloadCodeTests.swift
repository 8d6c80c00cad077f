// Role: tests of the payload's CRC-24 and convolutional code (round trips, error correction).
// Reference: PayloadCode.swift.
// Failure modes: a decoder that accepts a corrupted read fails an expectation.
import Testing
@testable import TwinImaging

@Suite struct PayloadCodeTests {
    @Test func roundTripsCleanCodewords() {
        var random = SplitMix64(seed: 11)
        for _ in 0..<20 {
            let payload = random.next()
            let soft = PayloadCode.encode(payload).map { $0 == 1 ? 1.0 : -1.0 }
            #expect(PayloadCode.decode(soft: soft) == payload)
        }
    }

    @Test func correctsTenPercentFlippedBits() {
        var random = SplitMix64(seed: 12)
        let payload: UInt64 = 0x0123_4567_89AB_CDEF
        var soft = PayloadCode.encode(payload).map { $0 == 1 ? 1.0 : -1.0 }
        // Flip every tenth bit: 28 of 282 errors, well inside the code's reach.
        for index in stride(from: Int(random.next() % 10), to: soft.count, by: 10) { soft[index] = -soft[index] }
        #expect(PayloadCode.decode(soft: soft) == payload)
    }

    @Test func rejectsSilenceAndNoise() {
        #expect(PayloadCode.decode(soft: [Double](repeating: 0, count: PayloadCode.codedBits)) == nil)
        #expect(PayloadCode.decode(soft: [Double](repeating: -1, count: PayloadCode.codedBits)) == nil)
        var random = SplitMix64(seed: 13)
        var accepted = 0
        for _ in 0..<500 {
            let soft = (0..<PayloadCode.codedBits).map { _ in Double(Int64(bitPattern: random.next()) % 1000) }
            if PayloadCode.decode(soft: soft) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    @Test func checkMatchesKnownValue() {
        // CRC-24/OpenPGP of the bytes 31 32 ... 38 ("12345678"), computed with the reference
        // bitwise algorithm of RFC 4880 section 6.1.
        #expect(PayloadCode.check(0x3132_3334_3536_3738) == 0x51_953C)
    }
}
