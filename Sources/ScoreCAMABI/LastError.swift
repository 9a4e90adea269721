#if canImport(Glibc)
import Glibc
#endif

/// The message of the last failure on each thread, for calls that have no handle to hold it
/// (a failed create, a NULL handle). Each thread owns a strdup'd copy freed on replace or exit.
private let threadMessageKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

enum ThreadMessage {
    static func set(_ message: String) {
        free(pthread_getspecific(threadMessageKey))
        pthread_setspecific(threadMessageKey, strdup(message))
    }

    static var current: UnsafePointer<CChar> {
        guard let message = pthread_getspecific(threadMessageKey) else { return StaticString("").cString }
        return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
    }
}

/// A C string owned by a handle: replaced on each call, freed with the handle.
struct OwnedMessage: ~Copyable {
    private var storage: UnsafeMutablePointer<CChar>?

    init() {}

    mutating func set(_ message: String?) {
        free(storage)
        storage = message.map { strdup($0) }
    }

    var cString: UnsafePointer<CChar> { storage.map { UnsafePointer($0) } ?? StaticString("").cString }

    deinit { free(storage) }
}
