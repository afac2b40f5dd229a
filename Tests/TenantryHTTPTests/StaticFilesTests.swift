import Foundation
import Testing

@testable import TenantryHTTP

/// A temporary folder holding a small site (`root/`) and a secret beside it (`outside/`).
private final class Site {
    let base: URL
    let root: URL
    let outside: URL

    init() throws {
        let fileManager = FileManager.default
        base = fileManager.temporaryDirectory.appendingPathComponent("tenantry-static-\(UUID().uuidString)")
        root = base.appendingPathComponent("root")
        outside = base.appendingPathComponent("outside")
        for folder in [root, outside, root.appendingPathComponent("docs"), root.appendingPathComponent("empty"), root.appendingPathComponent(".git")] {
            try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        try write("index.html", "<!doctype html><title>Console</title>")
        try write("app.js", "console.log('hi')")
        try write("app.css", "body { margin: 0 }")
        try write("logo.png", "\u{89}PNG")
        try write("data.json", "{}")
        try write("font.woff2", "w2")
        try write("notes.unknownext", "?")
        try write("docs/index.html", "<p>docs</p>")
        try write("docs/guide.txt", "read me")
        try write(".env", "SECRET=1")
        try write(".git/config", "[core]")
        try write("docs/.hidden", "hidden")
        try Data("TOP SECRET".utf8).write(to: outside.appendingPathComponent("secret.txt"))
        // Links that lead out of the root, and one that stays inside.
        try fileManager.createSymbolicLink(at: root.appendingPathComponent("leak.txt"), withDestinationURL: outside.appendingPathComponent("secret.txt"))
        try fileManager.createSymbolicLink(at: root.appendingPathComponent("leakdir"), withDestinationURL: outside)
        try fileManager.createSymbolicLink(at: root.appendingPathComponent("alias.js"), withDestinationURL: root.appendingPathComponent("app.js"))
    }

    deinit { try? FileManager.default.removeItem(at: base) }

    func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: root.appendingPathComponent(path))
    }

    var files: StaticFiles { StaticFiles(root: root.path) }
}

@Suite("StaticFiles")
struct StaticFilesTests {
    @Test("serves index.html for the empty path, with its security headers")
    func index() throws {
        let site = try Site()
        let response = try #require(site.files.response(for: "", ifNoneMatch: nil))
        #expect(response.status == 200)
        #expect(response.body == Array("<!doctype html><title>Console</title>".utf8))
        #expect(response.header("Content-Type") == "text/html; charset=utf-8")
        #expect(response.header("Cache-Control") == "no-cache")
        #expect(response.header("Content-Security-Policy") == StaticFiles.contentSecurityPolicy)
        #expect(response.header("X-Frame-Options") == "DENY")
        #expect(response.header("X-Content-Type-Options") == "nosniff")
        #expect(response.header("Referrer-Policy") == "no-referrer")
        #expect(response.header("ETag")?.hasPrefix("\"") == true)
        #expect(site.files.response(for: "/", ifNoneMatch: nil)?.body == response.body)
    }

    @Test(
        "serves files with their content types",
        arguments: [
            ("app.js", "text/javascript; charset=utf-8"),
            ("app.css", "text/css; charset=utf-8"),
            ("logo.png", "image/png"),
            ("data.json", "application/json; charset=utf-8"),
            ("font.woff2", "font/woff2"),
            ("notes.unknownext", "application/octet-stream"),
            ("docs/guide.txt", "text/plain; charset=utf-8"),
            ("/docs//guide.txt", "text/plain; charset=utf-8"),
        ])
    func contentTypes(path: String, contentType: String) throws {
        let site = try Site()
        let response = try #require(site.files.response(for: path, ifNoneMatch: nil))
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == contentType)
        #expect(!response.body.isEmpty)
    }

    @Test("maps extensions to types")
    func contentTypeTable() {
        #expect(StaticFiles.contentType(for: "HTML") == "text/html; charset=utf-8")
        #expect(StaticFiles.contentType(for: "htm") == "text/html; charset=utf-8")
        #expect(StaticFiles.contentType(for: "mjs") == "text/javascript; charset=utf-8")
        #expect(StaticFiles.contentType(for: "svg") == "image/svg+xml")
        #expect(StaticFiles.contentType(for: "jpeg") == "image/jpeg")
        #expect(StaticFiles.contentType(for: "JPG") == "image/jpeg")
        #expect(StaticFiles.contentType(for: "webp") == "image/webp")
        #expect(StaticFiles.contentType(for: "ico") == "image/x-icon")
        #expect(StaticFiles.contentType(for: "") == "application/octet-stream")
    }

    @Test("serves a folder's index.html; a folder without one is not found")
    func folders() throws {
        let site = try Site()
        #expect(site.files.response(for: "docs", ifNoneMatch: nil)?.body == Array("<p>docs</p>".utf8))
        #expect(site.files.response(for: "docs/", ifNoneMatch: nil)?.header("Content-Type") == "text/html; charset=utf-8")
        #expect(site.files.response(for: "empty", ifNoneMatch: nil) == nil)
        #expect(site.files.response(for: "missing.js", ifNoneMatch: nil) == nil)
    }

    @Test("answers 304 when If-None-Match holds the current ETag")
    func revalidation() throws {
        let site = try Site()
        let first = try #require(site.files.response(for: "app.js", ifNoneMatch: nil))
        let etag = try #require(first.header("ETag"))
        let notModified = try #require(site.files.response(for: "app.js", ifNoneMatch: etag))
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("ETag") == etag)
        #expect(site.files.response(for: "app.js", ifNoneMatch: "\"other\", \(etag)")?.status == 304)
        #expect(site.files.response(for: "app.js", ifNoneMatch: "\"other\"")?.status == 200)
        #expect(site.files.response(for: "app.js", ifNoneMatch: "")?.status == 200)
        // Another file has another tag.
        #expect(site.files.response(for: "app.css", ifNoneMatch: etag)?.status == 200)
        // A changed file gets a new tag.
        try site.write("app.js", "console.log('changed, and longer')")
        let changed = try #require(site.files.response(for: "app.js", ifNoneMatch: etag))
        #expect(changed.status == 200)
        #expect(changed.header("ETag") != etag)
    }

    @Test(
        "never serves paths that climb out of the root",
        arguments: [
            "../outside/secret.txt",
            "docs/../../outside/secret.txt",
            "..",
            "./index.html",
            "docs/./guide.txt",
            "/../outside/secret.txt",
            "..%2Foutside%2Fsecret.txt",
        ])
    func traversal(path: String) throws {
        let site = try Site()
        #expect(site.files.response(for: path, ifNoneMatch: nil) == nil)
    }

    @Test("never serves hidden files or folders", arguments: [".env", ".git/config", "docs/.hidden", ".git"])
    func hidden(path: String) throws {
        let site = try Site()
        #expect(site.files.response(for: path, ifNoneMatch: nil) == nil)
    }

    @Test("never follows links that lead outside the root")
    func symlinks() throws {
        let site = try Site()
        #expect(site.files.response(for: "leak.txt", ifNoneMatch: nil) == nil)
        #expect(site.files.response(for: "leakdir/secret.txt", ifNoneMatch: nil) == nil)
        #expect(site.files.response(for: "leakdir", ifNoneMatch: nil) == nil)
        // A link that stays inside is fine.
        let alias = try #require(site.files.response(for: "alias.js", ifNoneMatch: nil))
        #expect(alias.body == Array("console.log('hi')".utf8))
    }

    @Test("a root given through a symlink or with dots still works")
    func rootNormalised() throws {
        let site = try Site()
        let link = site.base.appendingPathComponent("current")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: site.root)
        let viaLink = StaticFiles(root: link.path)
        #expect(viaLink.response(for: "app.js", ifNoneMatch: nil)?.status == 200)
        #expect(viaLink.response(for: "../outside/secret.txt", ifNoneMatch: nil) == nil)
        let dotted = StaticFiles(root: site.root.path + "/./docs/..")
        #expect(dotted.response(for: "app.css", ifNoneMatch: nil)?.status == 200)
    }

    @Test("a sibling folder sharing the root's name prefix is outside")
    func prefixSibling() throws {
        let site = try Site()
        let sibling = site.base.appendingPathComponent("root-evil")
        try FileManager.default.createDirectory(at: sibling, withIntermediateDirectories: true)
        try Data("evil".utf8).write(to: sibling.appendingPathComponent("x.txt"))
        try FileManager.default.createSymbolicLink(at: site.root.appendingPathComponent("sib"), withDestinationURL: sibling)
        #expect(site.files.response(for: "sib/x.txt", ifNoneMatch: nil) == nil)
    }
}
