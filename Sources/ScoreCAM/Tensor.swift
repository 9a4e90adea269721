/// A dense float32 tensor in row-major (C) order: the images, activations and maps of the API.
public struct Tensor: Equatable, Sendable {
    /// The size of each dimension, outermost first (NCHW for images).
    public let shape: [Int]
    /// `shape.reduce(1, *)` values, the last dimension varying fastest.
    public var scalars: [Float]

    /// - Throws: `.shape` when a dimension is not positive or `scalars` does not hold exactly
    ///   the product of `shape` values.
    public init(shape: [Int], scalars: [Float]) throws(ScoreCAMError) {
        let count = try Self.elementCount(shape)
        guard scalars.count == count else {
            throw ScoreCAMError(.shape, "a tensor of shape \(Self.describe(shape)) holds \(count) values, got \(scalars.count)")
        }
        self.shape = shape
        self.scalars = scalars
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) throws(ScoreCAMError) {
        self.shape = shape
        self.scalars = [Float](repeating: value, count: try Self.elementCount(shape))
    }

    /// The value at one index per dimension.
    public subscript(_ indices: Int...) -> Float {
        get { scalars[offset(indices)] }
        set { scalars[offset(indices)] = newValue }
    }

    private func offset(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "\(indices.count) indices for a \(shape.count)-D tensor")
        var offset = 0
        for (index, size) in zip(indices, shape) {
            precondition(index >= 0 && index < size, "index \(index) outside 0..<\(size)")
            offset = offset * size + index
        }
        return offset
    }

    static func elementCount(_ shape: [Int]) throws(ScoreCAMError) -> Int {
        var count = 1
        for size in shape {
            guard size > 0 else { throw ScoreCAMError(.shape, "tensor dimensions must be positive, got \(describe(shape))") }
            let (next, overflow) = count.multipliedReportingOverflow(by: size)
            guard !overflow, next <= Int.max / MemoryLayout<Float>.stride else {
                throw ScoreCAMError(.shape, "a tensor of shape \(describe(shape)) does not fit in memory")
            }
            count = next
        }
        return count
    }

    static func describe(_ shape: [Int]) -> String { shape.map(String.init).joined(separator: "x") }

    /// The tensor as N x C x H x W, where a 3-D one is one image.
    func nchw(_ name: String) throws(ScoreCAMError) -> (n: Int, c: Int, h: Int, w: Int) {
        switch shape.count {
        case 3: return (1, shape[0], shape[1], shape[2])
        case 4: return (shape[0], shape[1], shape[2], shape[3])
        default: throw ScoreCAMError(.shape, "\(name) must have 3 (C, H, W) or 4 (N, C, H, W) dimensions, got \(Self.describe(shape))")
        }
    }
}
