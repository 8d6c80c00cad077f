// Role: loads a safetensors file's tensors, converted to Float, into one immutable block of
// memory and hands out shape-checked `Param`s by name (plus buffers derived at load, such as
// Winograd weights). Every tensor in the file must be used: an unexpected or missing name means
// the file does not belong to this architecture.
// Reference: llama2.c's Config/Weights split (weights checked against the config, one block).
// Failure modes: a missing, mis-shaped or unused tensor throws `SafeTensorsError.tensor` naming
// the file and the tensor.

/// Owns the parameter memory of one weight file; freed with the model.
final class ParameterStore: @unchecked Sendable {
    private let memory: UnsafeMutableBufferPointer<Float>
    /// Buffers derived from the file's tensors at load (e.g. Winograd weights); only appended during load.
    private var derived: [UnsafeMutableBufferPointer<Float>] = []
    /// File name for errors.
    let file: String

    private init(memory: UnsafeMutableBufferPointer<Float>, file: String) {
        self.memory = memory
        self.file = file
    }

    deinit {
        memory.deallocate()
        derived.forEach { $0.deallocate() }
    }

    /// Reads every tensor of `tensors`, then lets `build` take them by name.
    /// Throws if `build` asks for a missing or mis-shaped tensor, or leaves one unused.
    static func load<T>(_ tensors: SafeTensorsFile, _ build: (inout Taker) throws(SafeTensorsError) -> T)
        throws(SafeTensorsError) -> (T, ParameterStore) {
        let total = tensors.entries.values.reduce(0) { $0 + $1.count }
        let store = ParameterStore(memory: .allocate(capacity: max(total, 1)), file: tensors.name)
        var taker = Taker(tensors: tensors, memory: store.memory, store: store)
        let built = try build(&taker)
        let unused = Set(tensors.entries.keys).subtracting(taker.taken)
        if let first = unused.sorted().first {
            throw .tensor(tensors.name, first, "unexpected tensor (\(unused.count) unused): the file does not match model.json")
        }
        return (built, store)
    }

    /// Hands out parameters in file order of request.
    struct Taker {
        let tensors: SafeTensorsFile
        let memory: UnsafeMutableBufferPointer<Float>
        let store: ParameterStore
        /// Whether eligible 3x3 convs get Winograd weights.
        var winograd = false
        var offset = 0
        var taken = Set<String>()

        /// Tensor `name`, which must have exactly `shape`.
        mutating func take(_ name: String, _ shape: [Int]) throws(SafeTensorsError) -> Param {
            guard !taken.contains(name) else { throw .tensor(tensors.name, name, "requested twice") }
            guard let entry = tensors.entries[name] else { throw .tensor(tensors.name, name, "missing") }
            guard entry.shape == shape else {
                throw .tensor(tensors.name, name, "shape \(entry.shape), expected \(shape)")
            }
            let n = entry.count
            let dst = UnsafeMutableBufferPointer(rebasing: memory[offset..<(offset + n)])
            try tensors.read(name, shape: shape, into: dst)
            taken.insert(name)
            offset += n
            return Param(data: UnsafePointer(dst.baseAddress!), shape: shape)
        }

        /// `count` floats owned by the store, for parameters derived at load.
        func derive(_ count: Int) -> UnsafeMutablePointer<Float> {
            let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
            store.derived.append(buf)
            return buf.baseAddress!
        }
    }
}
