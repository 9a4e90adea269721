/// The two masked-image batch buffers of a run, kept for the next run of the same explainer.
///
/// A batch of 64 images at 224 x 224 is 38.5 MB: glibc `mmap`s blocks that large afresh on every
/// allocation, so a run that allocates its buffers pays ~9,400 page faults (the kernel zeroing
/// every page) per buffer, and the unmap at its end. Kept here they are faulted in once, by the
/// first run, and reused while they are large enough. The memory stays held until the owner
/// (an explainer handle) goes away.
package final class BatchBufferCache {
    private var buffers: [FloatBuffer] = []

    package init() {}

    /// Two buffers of at least `floats` floats each: the kept ones if large enough, else new ones
    /// (the old ones are freed first, so the peak is never three buffers).
    func pair(floats: Int) throws(EngineError) -> [FloatBuffer] {
        if buffers.count == 2, buffers[0].count >= floats { return buffers }
        buffers = []
        buffers = [try FloatBuffer(count: floats), try FloatBuffer(count: floats)]
        return buffers
    }

    /// Frees the kept buffers (the next run allocates again).
    package func release() { buffers = [] }
}
