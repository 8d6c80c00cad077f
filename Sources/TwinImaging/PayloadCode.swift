// Role: channel coding of the 64-bit watermark payload: CRC-24 plus a rate-1/3 K=7 convolutional
// code with soft-decision Viterbi decoding.
// Reference: OpenPGP CRC-24 (RFC 4880 §6.1) with a non-zero seed; LTE convolutional generators
// 133, 171, 165 (3GPP TS 36.212 §5.1.3.1).
// Failure modes: a read whose CRC does not check decodes to `nil`, never to a wrong payload with a
// valid CRC by construction of the seed.

/// Channel coding of the 64-bit watermark payload: a 24-bit CRC (OpenPGP polynomial with a
/// non-zero seed, so an all-zero or empty signal never checks) appended to the payload, then a
/// rate-1/3, constraint-length-7 convolutional code (generators 133, 171, 165 octal, as in LTE)
/// with 6 zero tail bits, decoded by a soft-decision Viterbi decoder.
enum PayloadCode {
    /// Payload bits.
    static let payloadBits = 64
    /// Check bits.
    static let checkBits = 24
    /// Convolutional code constraint length.
    static let constraintLength = 7
    /// Encoded length: (64 + 24 + 6 tail) * 3.
    static let codedBits = (payloadBits + checkBits + constraintLength - 1) * 3

    private static let generators: [Int] = [0o133, 0o171, 0o165]
    private static let stateCount = 1 << (constraintLength - 1)

    /// CRC-24 (poly 0x864CFB, seed 0xB704CE) of the 64 payload bits, most significant first.
    static func check(_ payload: UInt64) -> UInt32 {
        var crc: UInt32 = 0xB7_04CE
        for byteIndex in (0..<8).reversed() {
            crc ^= UInt32((payload >> (UInt64(byteIndex) * 8)) & 0xFF) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x100_0000 != 0 { crc ^= 0x86_4CFB }
            }
        }
        return crc & 0xFF_FFFF
    }

    /// Message bits (payload MSB first, then CRC MSB first, then zero tail) as 0/1.
    static func messageBits(_ payload: UInt64) -> [UInt8] {
        var bits = (0..<payloadBits).map { UInt8((payload >> UInt64(payloadBits - 1 - $0)) & 1) }
        let crc = check(payload)
        bits += (0..<checkBits).map { UInt8((crc >> UInt32(checkBits - 1 - $0)) & 1) }
        bits += [UInt8](repeating: 0, count: constraintLength - 1)
        return bits
    }

    /// The `codedBits` code bits (0/1) for `payload`.
    static func encode(_ payload: UInt64) -> [UInt8] {
        var register = 0
        var coded: [UInt8] = []
        coded.reserveCapacity(codedBits)
        for bit in messageBits(payload) {
            register = ((register << 1) | Int(bit)) & ((1 << constraintLength) - 1)
            for generator in generators { coded.append(UInt8((register & generator).nonzeroBitCount & 1)) }
        }
        return coded
    }

    /// Viterbi-decodes soft values (positive means 1, magnitude is confidence) and returns the
    /// payload when its CRC checks, else nil.
    static func decode(soft: [Double]) -> UInt64? {
        precondition(soft.count == codedBits)
        let steps = codedBits / 3
        let mask = (1 << constraintLength) - 1
        // outputs[register] = the 3 code bits as ±1 for the 7-bit register value.
        let outputs: [[Double]] = (0...mask).map { register in
            generators.map { Double((register & $0).nonzeroBitCount & 1) * 2 - 1 }
        }
        var metric = [Double](repeating: -.infinity, count: stateCount)
        metric[0] = 0
        var decisions = [[UInt8]](repeating: [UInt8](repeating: 0, count: stateCount), count: steps)
        var next = [Double](repeating: 0, count: stateCount)
        for step in 0..<steps {
            let s0 = soft[step * 3], s1 = soft[step * 3 + 1], s2 = soft[step * 3 + 2]
            for state in 0..<stateCount {
                // state = last 6 bits; predecessors differ in the bit shifted out (bit 5 of prev).
                let bit = state & 1
                let previousA = state >> 1, previousB = (state >> 1) | (stateCount >> 1)
                let registerA = (previousA << 1 | bit) & mask, registerB = (previousB << 1 | bit) & mask
                let oa = outputs[registerA], ob = outputs[registerB]
                let a = metric[previousA] + s0 * oa[0] + s1 * oa[1] + s2 * oa[2]
                let b = metric[previousB] + s0 * ob[0] + s1 * ob[1] + s2 * ob[2]
                if a >= b { next[state] = a; decisions[step][state] = 0 } else { next[state] = b; decisions[step][state] = 1 }
            }
            swap(&metric, &next)
        }
        // Tail forces the final state to 0; trace back.
        var state = 0
        var bits = [UInt8](repeating: 0, count: steps)
        for step in (0..<steps).reversed() {
            bits[step] = UInt8(state & 1)
            state = decisions[step][state] == 0 ? state >> 1 : (state >> 1) | (stateCount >> 1)
        }
        var payload: UInt64 = 0
        for index in 0..<payloadBits { payload = payload << 1 | UInt64(bits[index]) }
        var crc: UInt32 = 0
        for index in payloadBits..<(payloadBits + checkBits) { crc = crc << 1 | UInt32(bits[index]) }
        return crc == check(payload) ? payload : nil
    }
}
