// Role: the per-segment chain rule, shared by the strict readers and by `verify`: line n has
// `seq == n`, `prev_hash ==` line n-1's `hash` (64 zeros for line 1) and the segment's host.
// Reference: the hash-chained log of Certificate Transparency / Rekor, one chain per writer.
// Failure modes: none thrown; `advance` returns the kind and message of the first rule a line breaks.

/// Walks one segment's lines in file order and reports where the chain breaks.
struct ChainCursor {
    let host: String
    private(set) var lastSeq: Int64 = 0
    /// nil after a line that could not be decoded: the next line's `prev_hash` cannot be checked.
    private(set) var lastHash: String? = RoyaltyEvent.genesisHash

    init(host: String) { self.host = host }

    /// Checks that `event` continues the chain, then moves past it (so one bad line is one problem).
    mutating func advance(over event: RoyaltyEvent) -> (kind: LedgerProblem.Kind, message: String)? {
        defer { lastSeq = event.seq; lastHash = event.hash }
        let expected = lastSeq + 1
        if event.host != host {
            return (.wrongHost, "event host \(event.host.debugDescription) in the segment of \(host.debugDescription)")
        }
        if event.seq > expected {
            return (.sequenceGap, "expected seq \(expected), found \(event.seq) (lines missing)")
        }
        if event.seq < expected {
            return (.reordered, "expected seq \(expected), found \(event.seq) (line out of order or repeated)")
        }
        if let lastHash, event.prevHash != lastHash {
            return (.brokenChain, "prev_hash does not match the previous line's hash (line replaced?)")
        }
        return nil
    }

    /// Moves past a line that could not be decoded.
    mutating func skipUndecodable() {
        lastSeq += 1
        lastHash = nil
    }
}
