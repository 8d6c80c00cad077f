import Foundation
import Testing
@testable import TwinConsent

/// Quota reservations shared by workers and processes.
@Suite struct QuotaTests {
    let fixture: Fixture
    init() throws { fixture = try Fixture() }

    private var reservationsFile: URL { fixture.root.appendingPathComponent("quota-reservations.json") }

    @Test func reservationIsIdempotentPerJobAndReleased() throws {
        let grant = try fixture.writeGrant(fixture.terms(maxImages: 5))
        let reservations = QuotaReservations(file: reservationsFile)
        #expect(try reservations.reserve(grant: grant, job: "a", count: 3, delivered: 0))
        #expect(try reservations.reserve(grant: grant, job: "a", count: 3, delivered: 0))  // requeued: same reservation
        #expect(try reservations.reserve(grant: grant, job: "b", count: 3, delivered: 0) == false)
        #expect(try reservations.reserve(grant: grant, job: "b", count: 2, delivered: 0))
        #expect(try reservations.all().map(\.job) == ["a", "b"])
        try reservations.release(job: "a")
        #expect(try reservations.reserve(grant: grant, job: "c", count: 2, delivered: 1))
        #expect(try reservations.reserve(grant: grant, job: "d", count: 1, delivered: 1) == false)
    }

    @Test func pruneDropsReservationsOfJobsNoLongerInTheSpool() throws {
        let grant = try fixture.writeGrant(fixture.terms(maxImages: 5))
        let reservations = QuotaReservations(file: reservationsFile)
        for job in ["a", "b", "c"] { #expect(try reservations.reserve(grant: grant, job: job, count: 1, delivered: 0)) }
        #expect(try reservations.prune(keepingJobs: { ["b"] }).map(\.job) == ["a", "c"])
        #expect(try reservations.all().map(\.job) == ["b"])
        #expect(try reservations.prune(keepingJobs: { ["b"] }).isEmpty)
    }

    @Test func authorizeAtClaimAndDeliveryCountsTheJobOnce() throws {
        try fixture.writeGrant(fixture.terms(maxImages: 4))
        let registry = try fixture.registry()
        let reservations = QuotaReservations(file: reservationsFile)
        let job = try fixture.request(job: "j1", count: 4)
        #expect(try registry.authorize(job, at: Fixture.now, reservations: reservations) { _ in 0 }.grant != nil)
        // Right before delivery: the job's own reservation does not count against it.
        #expect(try registry.authorize(job, at: Fixture.now, reservations: reservations) { _ in 0 }.grant != nil)
        let second = try fixture.request(job: "j2", count: 1)
        #expect(try registry.authorize(second, at: Fixture.now, reservations: reservations) { _ in 0 }.denial?.code == .quotaExhausted)
        // Delivered and released: the ledger now counts the 4 images.
        try reservations.release(job: "j1")
        #expect(try registry.authorize(second, at: Fixture.now, reservations: reservations) { _ in 4 }.denial?.code == .quotaExhausted)
        #expect(try reservations.all().isEmpty)
    }

    @Test func denialAtDeliveryReleasesTheReservation() throws {
        let grant = try fixture.writeGrant(fixture.terms(maxImages: 4))
        let reservations = QuotaReservations(file: reservationsFile)
        let job = try fixture.request(job: "j1", count: 2)
        #expect(try fixture.registry().authorize(job, at: Fixture.now, reservations: reservations) { _ in 0 }.grant != nil)
        try fixture.store.revoke(grant: grant.uid, key: fixture.keys["anna"]!, at: Fixture.now)
        let decision = try fixture.registry().authorize(job, at: Fixture.now, reservations: reservations) { _ in 0 }
        #expect(decision.denial?.code == .revoked)
        #expect(try reservations.all().isEmpty)
    }

    @Test func deliveryCheckPinnedToTheRenderedGrant() throws {
        let narrow = try fixture.writeGrant(fixture.terms(territories: ["FR"], from: "2026-01-01", until: "2026-06-01T12:00:05Z"))
        let broad = try fixture.writeGrant(fixture.terms(territories: ["EU"]))
        let reservations = QuotaReservations(file: reservationsFile)
        let job = try fixture.request(job: "j1", count: 2)
        let claim = try fixture.registry().authorize(job, at: Fixture.now, reservations: reservations) { _ in 0 }
        #expect(claim.grant == narrow)
        // The narrow grant expires while the job renders. Unpinned, the broad grant would allow
        // delivery, but the images were made (and carry provenance) under the narrow one.
        let later = Fixture.now.addingTimeInterval(60)
        #expect(try fixture.registry().evaluate(job, at: later) { _ in 0 }.grant == broad)
        let delivery = try fixture.registry().authorize(job, at: later, onlyGrant: narrow.uid, reservations: reservations) { _ in 0 }
        #expect(delivery.denial?.code == .expired)
        #expect(try reservations.all().isEmpty)
        // A pinned grant that has disappeared from the registry allows nothing.
        let gone = try fixture.registry().evaluate(job, at: Fixture.now, onlyGrant: "no-such-grant") { _ in 0 }
        #expect(gone.denial?.code == .missing)
    }

    @Test func ledgerErrorsPropagate() throws {
        struct LedgerDown: Error {}
        try fixture.writeGrant(fixture.terms())
        let reservations = QuotaReservations(file: reservationsFile)
        #expect(throws: LedgerDown.self) {
            try fixture.registry().authorize(fixture.request(), at: Fixture.now, reservations: reservations) { _ in throw LedgerDown() }
        }
        #expect(try reservations.all().isEmpty)
    }

    @Test func damagedReservationsFileIsAnError() throws {
        try Data("not json".utf8).write(to: reservationsFile)
        #expect(throws: ConsentError.malformedFile) { try QuotaReservations(file: reservationsFile).all() }
    }

    /// Eight racers (each with its own `QuotaReservations`, so its own open file description and
    /// `flock`, as separate daemon processes have) compete for the last 5 images of a grant.
    @Test func racersNeverOvershootTheLastImages() throws {
        try fixture.writeGrant(fixture.terms(maxImages: 100))
        let registry = try fixture.registry()
        let file = reservationsFile
        let alreadyDelivered = 95
        for round in 0..<5 {
            let allowed = Counter()
            DispatchQueue.concurrentPerform(iterations: 8) { racer in
                let reservations = QuotaReservations(file: file)
                for attempt in 0..<3 {
                    do {
                        let request = try ConsentRequest(
                            job: "r\(round)-\(racer)-\(attempt)", twin: "anna-v1", licensee: "acme", purpose: "ecommerce",
                            territory: "FR", count: 1, twinWeightsSHA256: registry.twins["anna-v1"]?.weightsSHA256)
                        // The ledger read takes a moment, widening the window a missing lock would leave.
                        let decision = try registry.authorize(request, at: Fixture.now, reservations: reservations) { _ in
                            usleep(300)
                            return alreadyDelivered
                        }
                        if decision.grant != nil { allowed.increment() }
                    } catch {
                        Issue.record("racer \(racer): \(error)")
                    }
                }
            }
            #expect(allowed.value == 5, "round \(round)")
            let reserved = try QuotaReservations(file: file).all()
            #expect(reserved.reduce(0) { $0 + $1.count } == 5)
            for reservation in reserved { try QuotaReservations(file: file).release(job: reservation.job) }
        }
    }
}

/// A thread-safe counter for the race test.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
