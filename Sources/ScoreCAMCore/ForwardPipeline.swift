import Dispatch

/// Something that writes the model inputs of a batch of items: masked images for an explanation,
/// perturbed images for a metric.
protocol BatchBuilder: Sendable {
    associatedtype Item: Sendable
    /// The shape of one model input (the explained input's).
    var input: TensorView { get }
    /// Writes items[i] into batch + i * itemFloats.
    func build(_ items: ArraySlice<Item>, into batch: UnsafeMutablePointer<Float>)
    /// Floats one item takes in a batch: a model input (input.imageSize), or a mask in masks mode.
    var itemFloats: Int { get }
    /// The image (of the explained input) an item belongs to.
    func image(of item: Item) -> Int
    /// Runs the host's model on a built batch of items.
    func forward<Host: ModelHost>(_ host: Host, batch: UnsafePointer<Float>, items: ArraySlice<Item>,
                                  outputs: UnsafeMutablePointer<Float>) throws(EngineError)
}

extension BatchBuilder {
    var itemFloats: Int { input.imageSize }

    func forward<Host: ModelHost>(_ host: Host, batch: UnsafePointer<Float>, items: ArraySlice<Item>,
                                  outputs: UnsafeMutablePointer<Float>) throws(EngineError) {
        try host.forward(batch, count: items.count, c: input.c, h: input.h, w: input.w, outputs: outputs)
    }
}

extension MaskBuilder: BatchBuilder {
    func image(of item: WorkItem) -> Int { item.image }
}

/// The targets of a run: one list for every image, or one per image (images x count values,
/// image i's from i x count): images explained together then still share the forward batches.
package struct RunTargets: Sendable {
    /// Class indices, or what a scoring callback understands (empty: it was given none).
    package let values: [Int]
    /// Targets per image.
    package let count: Int
    package let perImage: Bool

    package init(_ values: [Int], count: Int, perImage: Bool = false) {
        self.values = values
        self.count = count
        self.perImage = perImage
    }

    /// Image `image`'s targets, as a slice of `values`.
    func of(image: Int) -> ArraySlice<Int> {
        perImage ? values[(image * count)..<((image + 1) * count)] : values[...]
    }
}

/// Runs `body` on up to `threads` threads for the items of a batch: thread t gets the indices
/// t, t + n, t + 2n, ... (n threads) with t itself, so each thread can keep its own scratch slot t.
func forEachItemInParallel(_ count: Int, threads: Int, _ body: @Sendable (Int, StrideTo<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(threads, count))
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        body(chunk, stride(from: chunk, to: count, by: chunks))
    }
}

/// Class-index targets must exist and index the model's outputs (without a scoring callback);
/// per-image targets must be given, one list per image.
func requireClassTargets(_ targets: RunTargets, images: Int, host: some ModelHost) throws(EngineError) {
    let expected = targets.perImage ? images * targets.count : targets.count
    if targets.perImage, targets.values.count != expected {
        throw EngineError(.invalidArgument, "per-image targets need \(images) images x \(targets.count) targets, got \(targets.values.count)")
    }
    guard !host.scoresTargets else { return }
    guard targets.values.count == expected else {
        throw EngineError(.invalidArgument, "\(expected) class targets are needed without a scoring callback, got \(targets.values.count)")
    }
    for (i, target) in targets.values.enumerated() where target < 0 || target >= host.outputDim {
        let which = targets.perImage ? "image \(i / targets.count)'s target \(i % targets.count)" : "target \(i)"
        throw EngineError(.invalidArgument, "\(which) is class \(target), outside the model's \(host.outputDim) outputs")
    }
}

/// Runs forward passes in batches and scores them. Two batch buffers rotate: worker threads fill
/// one while the host's forward runs on the other. The host's callbacks are called on the calling
/// thread only.
final class ForwardPipeline<Builder: BatchBuilder, Host: ModelHost> {
    let builder: Builder
    let host: Host
    let parameters: Parameters
    let targets: RunTargets
    var numTargets: Int { targets.count }
    let total: Int
    private(set) var done = 0
    private let batch: Int
    private let buffers: [FloatBuffer]
    private let outputs: FloatBuffer
    private let scores: FloatBuffer

    /// maxItems: the most items one `score` call will get (sizes the buffers); total: the masked
    /// images the whole run may need, for progress; cache: where the batch buffers are kept
    /// between runs (nil: allocated for this run only).
    init(builder: Builder, host: Host, parameters: Parameters, targets: RunTargets,
         maxItems: Int, total: Int, cache: BatchBufferCache? = nil) throws(EngineError) {
        self.builder = builder
        self.host = host
        self.parameters = parameters
        self.targets = targets
        self.total = total
        let numTargets = targets.count
        // Bytes per item in the batch: two batch items (double buffering), its outputs, its scores.
        // An item is a masked image, or in masks mode a mask.
        let itemBytes = try Sizes.bytes([builder.itemFloats], elementSize: 4, "one batch item")
        let rowBytes = try Sizes.bytes([host.outputDim], elementSize: 4, "one output row")
        let scoreBytes = try Sizes.bytes([numTargets], elementSize: 4, "one row of scores")
        let perItem = try Sizes.sum(Sizes.sum(itemBytes, itemBytes, "two batch items"),
                                    Sizes.sum(rowBytes, scoreBytes, "an output row and its scores"), "one batch item")
        // BATCH_MEMORY bounds the batch; one item is the least a run needs.
        batch = Swift.max(1, Swift.min(parameters.batchSize, maxItems, parameters.batchMemory / Swift.max(perItem, 1)))
        try Sizes.requireAffordable(bytes: Sizes.product([batch, perItem], "the batch buffers"),
                                    "a batch of \(batch) items of \(perItem) bytes")
        let batchFloats = try Sizes.product([batch, builder.itemFloats], elementSize: 4, "a batch of items")
        if let cache {
            buffers = try cache.pair(floats: batchFloats)
        } else {
            buffers = [try FloatBuffer(count: batchFloats), try FloatBuffer(count: batchFloats)]
        }
        outputs = try FloatBuffer(count: Sizes.product([batch, host.outputDim], elementSize: 4, "a batch of outputs"))
        scores = try FloatBuffer(count: Sizes.product([batch, numTargets], elementSize: 4, "a batch of scores"))
    }

    /// Forwards every item; returns items.count x numTargets scores.
    func score(_ items: [Builder.Item]) throws(EngineError) -> [Float] {
        var result = [Float](repeating: 0, count: items.count * numTargets)
        guard !items.isEmpty else { return result }
        let builder = self.builder
        builder.build(items[0..<Swift.min(batch, items.count)], into: buffers[0].pointer)
        var start = 0, current = 0
        while start < items.count {
            let end = Swift.min(start + batch, items.count)
            let count = end - start
            // Double buffering: workers fill the other buffer while the host runs this one.
            let pending = DispatchGroup()
            if end < items.count {
                let next = items[end..<Swift.min(end + batch, items.count)]
                let target = buffers[1 - current]
                DispatchQueue.global().async(group: pending) { builder.build(next, into: target.pointer) }
            }
            // The worker writes into a buffer this object owns: never leave before it is done.
            defer { pending.wait() }

            // NaN where the host writes nothing: the finiteness check below then catches a callback
            // that left outputs (or scores) unwritten instead of reading uninitialised memory.
            outputs.pointer.update(repeating: .nan, count: count * host.outputDim)
            try builder.forward(host, batch: buffers[current].pointer, items: items[start..<end], outputs: outputs.pointer)
            try requireFinite(outputs.pointer, count: count * host.outputDim,
                              what: "the forward callback's outputs (NaN where it wrote nothing)")
            try scoreOutputs(items[start..<end])
            try requireFinite(scores.pointer, count: count * numTargets,
                              what: "the scoring callback's scores (NaN where it wrote nothing)")
            for i in 0..<(count * numTargets) { result[start * numTargets + i] = scores.pointer[i] }
            done += count
            guard host.progress(done: done, total: total) else {
                throw EngineError(.cancelled, "cancelled by the progress callback after \(done) of \(total) masked images")
            }
            start = end
            current = 1 - current
        }
        return result
    }

    /// Scores the outputs of `items`: with per-image targets each row with its image's; a scoring
    /// callback is called once per run of consecutive rows of one image.
    private func scoreOutputs(_ items: ArraySlice<Builder.Item>) throws(EngineError) {
        let count = items.count, d = host.outputDim, first = items.startIndex
        if host.scoresTargets {
            scores.pointer.update(repeating: .nan, count: count * numTargets)
            guard targets.perImage else {
                try host.score(outputs.pointer, count: count, targets: targets.of(image: 0), numTargets: numTargets,
                               scores: scores.pointer)
                return
            }
            var start = 0
            while start < count {
                let image = builder.image(of: items[first + start])
                var end = start + 1
                while end < count, builder.image(of: items[first + end]) == image { end += 1 }
                try host.score(outputs.pointer + start * d, count: end - start, targets: targets.of(image: image),
                               numTargets: numTargets, scores: scores.pointer + start * numTargets)
                start = end
            }
            return
        }
        for i in 0..<count {
            let row = outputs.pointer + i * d
            let rowTargets = targets.of(image: targets.perImage ? builder.image(of: items[first + i]) : 0)
            for (t, target) in rowTargets.enumerated() {
                scores.pointer[i * numTargets + t] = parameters.score == .logit
                    ? row[target] : softmaxProbability(row, count: d, index: target)
            }
        }
    }
}
