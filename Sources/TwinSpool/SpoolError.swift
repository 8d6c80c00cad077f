import Foundation

/// An error from a spool operation. Job-level problems (a damaged file in `incoming/`) are not
/// errors: they become `SpoolEntryProblem`s and the file is moved aside with a reason.
public struct SpoolError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, with the path and the system error where there is one.
    public let description: String

    init(_ description: String) { self.description = description }

    static func system(_ operation: String, _ path: String, errno code: Int32 = errno) -> SpoolError {
        SpoolError("\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}
