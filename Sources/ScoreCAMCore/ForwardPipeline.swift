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

extension MaskBuilder: BatchBuilder {}

/// Runs `body` on up to `threads` threads for the items of a batch: thread t gets the indices
/// t, t + n, t + 2n, ... (n threads) with t itself, so each thread can keep its own scratch slot t.
func forEachItemInParallel(_ count: Int, threads: Int, _ body: @Sendable (Int, StrideTo<Int>) -> Void) {
    let chunks = Swift.max(1, Swift.min(threads, count))
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        body(chunk, stride(from: chunk, to: count, by: chunks))
    }
}

/// Class-index targets must exist and index the model's outputs (without a scoring callback).
func requireClassTargets(_ targets: [Int], count: Int, host: some ModelHost) throws(EngineError) {
    guard !host.scoresTargets else { return }
    guard targets.count == count else {
        throw EngineError(.invalidArgument, "\(count) class targets are needed without a scoring callback, got \(targets.count)")
    }
    for (i, target) in targets.enumerated() where target < 0 || target >= host.outputDim {
        throw EngineError(.invalidArgument, "target \(i) is class \(target), outside the model's \(host.outputDim) outputs")
    }
}

/// Runs forward passes in batches and scores them. Two batch buffers rotate: worker threads fill
/// one while the host's forward runs on the other. The host's callbacks are called on the calling
/// thread only.
final class ForwardPipeline<Builder: BatchBuilder, Host: ModelHost> {
    let builder: Builder
    let host: Host
    let parameters: Parameters
    let targets: [Int]
    let numTargets: Int
    let total: Int
    private(set) var done = 0
    private let batch: Int
    private let buffers: [FloatBuffer]
    private let outputs: FloatBuffer
    private let scores: FloatBuffer

    /// maxItems: the most items one `score` call will get (sizes the buffers); total: the masked
    /// images the whole run may need, for progress; cache: where the batch buffers are kept
    /// between runs (nil: allocated for this run only).
    init(builder: Builder, host: Host, parameters: Parameters, targets: [Int], numTargets: Int,
         maxItems: Int, total: Int, cache: BatchBufferCache? = nil) throws(EngineError) {
        self.builder = builder
        self.host = host
        self.parameters = parameters
        self.targets = targets
        self.numTargets = numTargets
        self.total = total
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
            try scoreOutputs(count: count)
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

    private func scoreOutputs(count: Int) throws(EngineError) {
        if host.scoresTargets {
            scores.pointer.update(repeating: .nan, count: count * numTargets)
            try host.score(outputs.pointer, count: count, targets: targets, numTargets: numTargets, scores: scores.pointer)
            return
        }
        let d = host.outputDim
        for i in 0..<count {
            let row = outputs.pointer + i * d
            for (t, target) in targets.enumerated() {
                scores.pointer[i * numTargets + t] = parameters.score == .logit
                    ? row[target] : softmaxProbability(row, count: d, index: target)
            }
        }
    }
}
