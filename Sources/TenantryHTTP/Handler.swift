/// What a route runs. Inline handlers run on libmicrohttpd's polling thread and must be
/// short (indexed reads, no hashing, no writes). An offloaded handler is in two steps: its
/// first runs on the polling thread (the checks that answer at once, such as credentials,
/// and the parsing of the body) and answers, or hands over work; the connection is then
/// suspended, the work started, and the connection resumed with the response it answers.
public enum Handler: Sendable {
    /// How work answers: once, from any thread, with what renders its response (or throws
    /// the error to answer). The server renders it on the polling thread, so the thread
    /// that finished the work (the database writer) spends nothing on it.
    public typealias Respond = @Sendable (_ render: @escaping Render) -> Void
    public typealias Render = @Sendable () throws -> Response
    /// Work started on the polling thread once the connection is suspended. It must return
    /// quickly: what takes time runs elsewhere (a task, the database writer) and answers
    /// through `respond` from there.
    public typealias Work = @Sendable (_ respond: @escaping Respond) -> Void

    case inline(@Sendable (Request) throws -> Response)
    case offloaded(@Sendable (Request) throws -> Dispatch)
}
