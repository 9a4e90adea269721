// The smallest complete Score-CAM host in Swift: a hand-written model and its activations,
// explained through `import ScoreCAM`, with the maps printed as ASCII art.
//
//   swift run --package-path examples/swift        (make test runs it and checks the peaks)
//
// The image is 1 x 32 x 32 with a bright square in the top-right corner and a dimmer one in the
// bottom-left. The model scores class 0 ("top-right thing") and class 1 ("bottom-left thing") as
// the mean brightness of its quadrant. The explained layer has 16 channels on a 4 x 4 grid:
// channel k fires on grid cell k in proportion to the brightness there. Score-CAM should light up
// the top-right square for class 0 and the bottom-left one for class 1.
import ScoreCAM
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let size = 32, grid = 4, cell = size / grid

/// The model: images n x 1 x 32 x 32 -> n x 2 outputs (40 x the mean of each class's quadrant).
func model(_ images: Span<Float>, _ shape: BatchShape) -> [Float] {
    func quadrantMean(_ image: Int, top: Int, left: Int) -> Float {
        var sum: Float = 0
        for y in top..<(top + size / 2) {
            for x in left..<(left + size / 2) { sum += images[image * size * size + y * size + x] }
        }
        return sum / Float(size * size / 4)
    }
    return (0..<shape.count).flatMap { i in [40 * quadrantMean(i, top: 0, left: size / 2), 40 * quadrantMean(i, top: size / 2, left: 0)] }
}

func printMap(_ title: String, _ maps: Tensor, target: Int) {
    let shades = Array(" .:-=+*#%@")
    var top: Float = 0
    for y in 0..<size { for x in 0..<size { top = max(top, maps[0, target, y, x]) } }
    print(title)
    for y in stride(from: 0, to: size, by: 2) {
        print(String((0..<size).map { x in shades[top > 0 ? Int(9.99 * maps[0, target, y, x] / top) : 0] }))
    }
}

do {
    var image = try Tensor(shape: [1, size, size])
    for y in 4..<12 { for x in 20..<28 { image[0, y, x] = 1 } }
    for y in 20..<28 { for x in 4..<12 { image[0, y, x] = 0.6 } }
    var activations = try Tensor(shape: [grid * grid, grid, grid])
    for k in 0..<(grid * grid) {
        let (gy, gx) = (k / grid, k % grid)
        var sum: Float = 0
        for y in 0..<cell { for x in 0..<cell { sum += image[0, gy * cell + y, gx * cell + x] } }
        activations[k, gy, gx] = sum / Float(cell * cell)
    }

    let explainer = try Explainer(outputDim: 2, forward: model)
    explainer.parameters.batchSize = 8
    let maps = try explainer.explain(image, activations: activations, targets: [0, 1])
    print("scorecam (Swift API): explained 2 classes with \(explainer.details[0].channels.count) masked forward passes\n")
    printMap("class 0 (top-right square):", maps, target: 0)
    printMap("\nclass 1 (bottom-left square):", maps, target: 1)
} catch {
    print("scorecam failed: \(error)")
    exit(1)
}
