import Foundation
import Testing
@testable import TwinConsent

/// Nothing disappears silently: the hash chain, rollback and fork refusal, the head store, the
/// cache, torn appends and concurrent appenders.
@Suite struct LogTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    /// Loads and expects `registryTampered` naming `line`.
    private func expectTampered(line: Int, pinned: RegistryHead? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try fixture.registry(pinnedHead: pinned)
            Issue.record("the tampered log loaded", sourceLocation: sourceLocation)
        } catch let error as ConsentError {
            #expect(error == .registryTampered, sourceLocation: sourceLocation)
            #expect(error.denialCode == .registryUntrusted, sourceLocation: sourceLocation)
            #expect(error.description.contains("line \(line):"), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    private func expectRolledBack(pinned: RegistryHead, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: ConsentError.registryRolledBack, sourceLocation: sourceLocation) { try fixture.registry(pinnedHead: pinned) }
    }

    /// A revoked grant: the log's last line is the revocation.
    private func revokedGrant() throws -> Grant {
        let grant = try fixture.writeGrant(fixture.terms())
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(try fixture.decide(fixture.request()).denial?.code == .revoked)
        return grant
    }

    @Test func deletingALineBreaksTheChain() throws {
        _ = try revokedGrant()
        var lines = try fixture.logLines()
        lines.remove(at: 3)
        try fixture.writeLog(lines)
        expectTampered(line: 4)
    }

    @Test func deletingTheLastLineIsARollback() throws {
        _ = try revokedGrant()
        let head = try fixture.registry().head
        try fixture.writeLog(try fixture.logLines().dropLast())
        #expect(try fixture.decide(fixture.request()).grant != nil)  // unpinned: the revocation is simply gone ...
        expectRolledBack(pinned: head)                                 // ... which the remembered head catches.
    }

    @Test func editingALineBreaksTheChain() throws {
        try fixture.writeGrant(fixture.terms())
        var lines = try fixture.logLines()
        lines[2] = lines[2].replacingOccurrences(of: "\"role\":\"agency\"", with: "\"role\":\"model\"")
        #expect(lines[2] != (try fixture.logLines())[2])
        try fixture.writeLog(lines)
        expectTampered(line: 3)
    }

    @Test func everyByteEditOfAGrantLineIsDetected() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let original = try Data(contentsOf: fixture.logURL)
        let lines = try fixture.logLines()
        let start = original.count - lines.last!.utf8.count - 1
        for index in start..<(original.count - 1) {
            var edited = original
            edited[index] ^= 0x01
            try edited.write(to: fixture.logURL)
            let outcome = Result { try fixture.registry() }
            switch outcome {
            case .success(let registry): Issue.record("byte \(index) edit loaded with \(registry.grants.count) grants")
            case .failure(let error): #expect(error as? ConsentError == .registryTampered, "byte \(index)")
            }
        }
        try original.write(to: fixture.logURL)
        #expect(try fixture.decide(fixture.request()).grant == grant)
    }

    @Test func reorderingLinesBreaksTheChain() throws {
        var lines = try fixture.logLines()
        lines.swapAt(1, 2)
        try fixture.writeLog(lines)
        expectTampered(line: 2)
    }

    @Test func replacingALineWithARehashedOneBreaksTheChainAfterIt() throws {
        _ = try revokedGrant()
        var lines = try fixture.logLines()
        // Replace line 3 with a re-hashed copy of another record: line 4 no longer follows.
        let object = try CanonicalValue.parseObject(Array(lines[4].utf8))
        guard case .object(let record)? = object["record"] else { Issue.record("no record"); return }
        let previous = try CanonicalValue.parseObject(Array(lines[1].utf8))
        guard case .string(let prevHash)? = previous["hash"] else { Issue.record("no hash"); return }
        let (line, _) = RegistryLog.line(for: record, after: RegistryHead(seq: 2, hash: prevHash))
        lines[2] = String(decoding: line.dropLast(), as: UTF8.self)
        try fixture.writeLog(lines)
        expectTampered(line: 4)
    }

    @Test func rewritingTheWholeChainIsCaughtByThePinnedHead() throws {
        _ = try revokedGrant()
        let pinned = try fixture.registry().head
        // Drop the revocation and re-chain every line: a consistent log, but not the one seen.
        let records = try fixture.logLines().dropLast().map { line -> [String: CanonicalValue] in
            guard case .object(let record)? = try CanonicalValue.parseObject(Array(line.utf8))["record"] else { throw ConsentError.malformedFile }
            return record
        }
        var head = RegistryHead.empty
        var rewritten: [String] = []
        for record in records + [records[1]] {  // same length as before: a fork at the last seq
            let (line, next) = RegistryLog.line(for: record, after: head)
            rewritten.append(String(decoding: line.dropLast(), as: UTF8.self))
            head = next
        }
        try fixture.writeLog(rewritten)
        #expect(head.seq == pinned.seq)
        expectRolledBack(pinned: pinned)
    }

    @Test func rollbackToAnOlderCopyIsRefused() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let oldCopy = try Data(contentsOf: fixture.logURL)
        let older = try fixture.registry().head
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        // An older pin is fine: the log only grew.
        let seen = try fixture.registry(pinnedHead: older).head
        #expect(seen.seq == older.seq + 1)
        try oldCopy.write(to: fixture.logURL)
        expectRolledBack(pinned: seen)
    }

    @Test func forkAtTheSameLengthIsRefused() throws {
        let grant = try fixture.writeGrant(fixture.terms())
        let base = try Data(contentsOf: fixture.logURL)
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        let seen = try fixture.registry().head
        // Another history from the same base: a different record at the same seq.
        try base.write(to: fixture.logURL)
        try fixture.store.grant(fixture.terms(licensee: "globex"), key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(try fixture.registry().head.seq == seen.seq)
        expectRolledBack(pinned: seen)
    }

    @Test func headStoreRemembersTheNewestHeadAndNeverGoesBack() throws {
        let store = RegistryHeadStore(file: fixture.root.appendingPathComponent("registry-head.json"))
        #expect(try store.read() == nil)
        let first = try fixture.registry().head
        try store.record(first)
        try fixture.writeGrant(fixture.terms())
        let second = try fixture.registry().head
        try store.record(second)
        try store.record(first)
        #expect(try store.read() == second)
        try Data("{".utf8).write(to: store.file)
        #expect(throws: ConsentError.malformedFile) { try store.read() }
    }

    @Test func cacheReloadsOnChangeAndRefusesARollbackAcrossRestarts() throws {
        let headFile = fixture.root.appendingPathComponent("registry-head.json")
        let anchors = [fixture.registrar.publicKeyBase64]
        let cache = ConsentRegistryCache(directory: fixture.store.directory, trustAnchors: anchors, headStore: RegistryHeadStore(file: headFile))
        #expect(try cache.current(at: Fixture.now).grants.isEmpty)
        let oldCopy = try Data(contentsOf: fixture.logURL)
        let grant = try fixture.writeGrant(fixture.terms())
        #expect(try cache.current(at: Fixture.now).grants.keys.sorted() == [grant.uid])
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        #expect(try cache.current(at: Fixture.now).evaluate(fixture.request(), at: Fixture.now) { _ in 0 }.denial?.code == .revoked)
        // A new process (fresh cache, same head file) after the log was put back.
        try oldCopy.write(to: fixture.logURL)
        let restarted = ConsentRegistryCache(directory: fixture.store.directory, trustAnchors: anchors, headStore: RegistryHeadStore(file: headFile))
        #expect(throws: ConsentError.registryRolledBack) { try restarted.current(at: Fixture.now) }
        #expect(throws: ConsentError.registryRolledBack) { try cache.current(at: Fixture.now) }
    }

    @Test func tornLastLineIsIgnoredAndCutByTheNextAppend() throws {
        let handle = try FileHandle(forWritingTo: fixture.logURL)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"hash\":\"00".utf8))
        try handle.close()
        let registry = try fixture.registry()
        #expect(registry.problems.contains { $0.message.contains("incomplete last line") })
        let grant = try fixture.store.grant(fixture.terms(), key: fixture.keys["anna"]!, at: Fixture.now)
        let reloaded = try fixture.registry()
        #expect(reloaded.problems.isEmpty)
        #expect(reloaded.grants[grant.uid] != nil)
    }

    @Test func cuttingTheLastNewlineDropsNothing() throws {
        _ = try revokedGrant()
        let full = try Data(contentsOf: fixture.logURL)
        try full.dropLast().write(to: fixture.logURL)
        #expect(try fixture.decide(fixture.request()).denial?.code == .revoked)
        try fixture.store.grant(fixture.terms(licensee: "globex"), key: fixture.keys["anna"]!, at: Fixture.now)
        let registry = try fixture.registry()
        #expect(registry.problems.isEmpty && registry.revocations.count == 1 && registry.grants.count == 2)
    }

    @Test func concurrentAppendersKeepTheChain() async throws {
        let store = fixture.store
        let terms = try fixture.terms()
        let key = fixture.keys["anna"]!
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { _ = try store.grant(terms, key: key, at: Fixture.now) }
            }
            try await group.waitForAll()
        }
        let registry = try fixture.registry()
        #expect(registry.grants.count == 8 && registry.problems.isEmpty)
    }

    @Test func missingDirectoryThrowsAndEmptyLogIsEmpty() throws {
        #expect(throws: ConsentError.notFound) {
            try ConsentRegistry.load(directory: fixture.root.appendingPathComponent("nope"), trustAnchors: [])
        }
        let empty = fixture.root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let registry = try ConsentRegistry.load(directory: empty, trustAnchors: [])
        #expect(registry.head == .empty && registry.parties.isEmpty)
        #expect(throws: ConsentError.registryRolledBack) {
            try ConsentRegistry.load(directory: empty, trustAnchors: [], pinnedHead: RegistryHead(seq: 1, hash: String(repeating: "a", count: 64)))
        }
    }
}
