import CCurl
import Foundation

/// One libcurl transfer (an SMTP message, an HTTP request), set up and performed on the
/// calling thread, which blocks: callers run it on threads of their own, never on Swift's
/// executor or the writer. C stays here: the rest of Core sees Swift types only.
final class CurlTransfer {
    struct Failure: Error, CustomStringConvertible {
        let code: CURLcode
        let detail: String
        /// The server's last reply code (SMTP or HTTP), 0 when none came.
        let responseCode: Int

        var description: String { detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail }
        var timedOut: Bool { code == CURLE_OPERATION_TIMEDOUT }
    }

    private static let initialized: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    private let handle: UnsafeMutableRawPointer
    private var lists: [UnsafeMutablePointer<curl_slist>] = []
    /// libcurl writes its error text here during `perform`; allocated once, so its address holds.
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
    private var upload: [UInt8] = []
    private var uploadOffset = 0
    private(set) var received: [UInt8] = []
    /// Bytes of the answer kept at most; the rest is read and dropped.
    var receiveLimit = 64 * 1024

    init() throws {
        Self.initialized
        guard let handle = curl_easy_init() else { throw DomainError.internalError("curl_easy_init failed") }
        self.handle = handle
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        // Threads of ours, not signals, time transfers out.
        try set(CURLOPT_NOSIGNAL, 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        for list in lists { curl_slist_free_all(list) }
        errorBuffer.deallocate()
    }

    /// An HTTPS call to a provider's API (a payment provider, an identity provider): a POST
    /// of `body`, or a GET without one; the status and the body. Redirects are not followed
    /// and no proxy from the environment is used.
    static func call(url: String, headers: [String], body: [UInt8]?, timeoutSeconds: Int) throws -> (status: Int, body: [UInt8]) {
        let transfer = try CurlTransfer()
        transfer.receiveLimit = 1 << 20
        try transfer.set(CURLOPT_URL, url)
        try transfer.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try transfer.set(CURLOPT_FOLLOWLOCATION, 0)
        try transfer.set(CURLOPT_PROXY, "")
        try transfer.set(CURLOPT_CONNECTTIMEOUT, timeoutSeconds)
        try transfer.set(CURLOPT_TIMEOUT, timeoutSeconds)
        try transfer.set(CURLOPT_USERAGENT, "Tenantry/1")
        try transfer.set(CURLOPT_HTTPHEADER, list: headers)
        if let body { try transfer.setPostBody(body) }
        try transfer.keepResponse()
        try transfer.perform()
        return (transfer.responseCode, transfer.received)
    }

    func set(_ option: CURLoption, _ value: Int) throws {
        try check(tenantry_curl_set_long(handle, option, value), option)
    }

    func set(_ option: CURLoption, _ value: String) throws {
        try check(value.withCString { tenantry_curl_set_string(handle, option, $0) }, option)
    }

    func set(_ option: CURLoption, list values: [String]) throws {
        var list: UnsafeMutablePointer<curl_slist>?
        for value in values { list = curl_slist_append(list, value) }
        guard let list else { return }
        lists.append(list)
        try check(tenantry_curl_set_list(handle, option, list), option)
    }

    /// The bytes libcurl reads for an upload (the message of an SMTP transfer, a POST body).
    func setUpload(_ bytes: [UInt8]) throws {
        upload = bytes
        uploadOffset = 0
        try check(tenantry_curl_set_callback(handle, CURLOPT_READFUNCTION, curlRead), CURLOPT_READFUNCTION)
        try check(tenantry_curl_set_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque()), CURLOPT_READDATA)
    }

    /// A POST with `bytes` as its body (libcurl copies them).
    func setPostBody(_ bytes: [UInt8]) throws {
        try set(CURLOPT_POST, 1)
        try set(CURLOPT_POSTFIELDSIZE, bytes.count)
        try check(bytes.withUnsafeBytes { tenantry_curl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) }, CURLOPT_COPYPOSTFIELDS)
    }

    /// Keeps what the server answers (up to `receiveLimit`).
    func keepResponse() throws {
        try check(tenantry_curl_set_callback(handle, CURLOPT_WRITEFUNCTION, curlWrite), CURLOPT_WRITEFUNCTION)
        try check(tenantry_curl_set_pointer(handle, CURLOPT_WRITEDATA, Unmanaged.passUnretained(self).toOpaque()), CURLOPT_WRITEDATA)
    }

    /// Performs the transfer; throws `Failure` unless libcurl reports success.
    func perform() throws {
        errorBuffer[0] = 0
        try check(tenantry_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), CURLOPT_ERRORBUFFER)
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            throw Failure(code: code, detail: detail, responseCode: responseCode)
        }
    }

    /// The last reply code of the server: an SMTP or HTTP status.
    var responseCode: Int {
        var code = 0
        _ = tenantry_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    private func check(_ code: CURLcode, _ option: CURLoption) throws {
        guard code == CURLE_OK else {
            throw DomainError.internalError("curl option \(option.rawValue): \(String(cString: curl_easy_strerror(code)))")
        }
    }

    fileprivate func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, upload.count - uploadOffset)
        guard count > 0 else { return 0 }
        upload.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + uploadOffset, byteCount: count)
        }
        uploadOffset += count
        return count
    }

    fileprivate func write(_ buffer: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        let room = max(0, receiveLimit - received.count)
        if room > 0 {
            buffer.withMemoryRebound(to: UInt8.self, capacity: count) { received.append(contentsOf: UnsafeBufferPointer(start: $0, count: min(room, count))) }
        }
        return count
    }
}

private let curlRead: tenantry_curl_io_callback = { buffer, size, count, context in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
    return transfer.read(into: buffer!, capacity: size * count)
}

private let curlWrite: tenantry_curl_io_callback = { buffer, size, count, context in
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context!).takeUnretainedValue()
    return transfer.write(buffer!, count: size * count)
}
