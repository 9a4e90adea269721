import Foundation

/// Loads the JSON fixtures written by Fixtures/generate_fixtures.py (PyTorch outputs).
enum Fixtures {
    static func load<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    struct ResizeCase: Decodable {
        let mode: String
        let in_h: Int, in_w: Int, out_h: Int, out_w: Int
        let input: [Float]
        let output: [Float]
    }

    struct ResizeFile: Decodable { let cases: [ResizeCase] }

    struct SeedCase: Decodable {
        let c: Int, h: Int, w: Int, k: Int, ah: Int, aw: Int, d: Int
        let targets: [Int]
        let input: [Float], activations: [Float], weight: [Float], bias: [Float]
        let maps: [[Float]]
        let cskip: Int
        let cskip_maps: [[Float]]
    }
}

/// max |a - b| / max |b|: the error measure of the issue ("relative to the map's max").
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = max(b.map(abs).max() ?? 0, .leastNormalMagnitude)
    return zip(a, b).map { abs($0 - $1) }.max()! / scale
}
