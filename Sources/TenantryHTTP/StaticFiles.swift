import Foundation

/// Serves files below one folder, with content types, revalidation by ETag, and the
/// strict security headers the console relies on (no inline script, no framing).
public struct StaticFiles: Sendable {
    public static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    public let root: URL

    public init(root: String) {
        self.root = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath()
    }

    /// The response for `relativePath` (empty means `index.html`), or nil when there is no
    /// such file below the root. Paths that climb out of the root are never served.
    public func response(for relativePath: String, ifNoneMatch: String?) -> Response? {
        let parts = relativePath.split(separator: "/")
        guard !parts.contains(where: { $0 == ".." || $0 == "." || $0.hasPrefix(".") }) else { return nil }
        var file = root.appendingPathComponent(parts.isEmpty ? "index.html" : parts.joined(separator: "/")).resolvingSymlinksInPath()
        guard file.path.hasPrefix(root.path + "/") else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue { file.appendPathComponent("index.html") }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
            let data = FileManager.default.contents(atPath: file.path)
        else { return nil }
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        let etag = "\"\(String(Int(modified * 1000), radix: 36))-\(String(data.count, radix: 36))\""
        var headers: [(String, String)] = [
            ("Content-Type", Self.contentType(for: file.pathExtension)),
            // The console has no build step and no fingerprinted names: browsers revalidate each time.
            ("Cache-Control", "no-cache"),
            ("ETag", etag),
        ]
        headers += Self.securityHeaders
        if let ifNoneMatch, ifNoneMatch.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: 304, headers: headers, body: [])
        }
        return Response(status: 200, headers: headers, body: [UInt8](data))
    }

    public static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy", contentSecurityPolicy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]

    public static func contentType(for fileExtension: String) -> String {
        switch fileExtension.lowercased() {
        case "html", "htm": "text/html; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "json": "application/json; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "jpg", "jpeg": "image/jpeg"
        case "webp": "image/webp"
        case "ico": "image/x-icon"
        case "txt": "text/plain; charset=utf-8"
        case "woff2": "font/woff2"
        default: "application/octet-stream"
        }
    }
}
