/// Polls `condition` (bounded: five seconds) until it holds; for effects that land just
/// after an answer, such as a delivery recorded by another thread.
public func eventually(_ condition: () throws -> Bool) async rethrows -> Bool {
    for _ in 0..<500 {
        if try condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try condition()
}
