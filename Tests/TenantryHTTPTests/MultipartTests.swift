import Testing

@testable import TenantryHTTP

@Suite("Multipart")
struct MultipartTests {
    /// PNG-like bytes with a CR LF, a NUL and high bytes inside, to check the part is kept byte for byte.
    private static let fileBytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0xFF, 0x2D, 0x2D, 0x0D, 0x0A, 0x42]

    private static func body(boundary: String, preamble: String = "", epilogue: String = "\r\n") -> [UInt8] {
        var bytes = Array(preamble.utf8)
        bytes += Array("--\(boundary)\r\n".utf8)
        bytes += Array("Content-Disposition: form-data; name=\"file\"; filename=\"me.png\"\r\n".utf8)
        bytes += Array("Content-Type: image/png\r\n\r\n".utf8)
        bytes += fileBytes
        bytes += Array("\r\n--\(boundary)\r\n".utf8)
        bytes += Array("content-disposition: form-data; name=note\r\n\r\n".utf8)
        bytes += Array("hello, world".utf8)
        bytes += Array("\r\n--\(boundary)--".utf8)
        bytes += Array(epilogue.utf8)
        return bytes
    }

    @Test(
        "parses a file part and a text field",
        arguments: [
            "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            "multipart/form-data; boundary=\"----WebKitFormBoundary7MA4YWxkTrZu0gW\"",
            "Multipart/Form-Data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
            "multipart/form-data; charset=utf-8; BOUNDARY=----WebKitFormBoundary7MA4YWxkTrZu0gW",
        ])
    func wellFormed(contentType: String) throws {
        let parts = try Multipart.parse(body: Self.body(boundary: "----WebKitFormBoundary7MA4YWxkTrZu0gW"), contentType: contentType)
        #expect(parts.count == 2)
        let file = try #require(parts.first)
        #expect(file.name == "file")
        #expect(file.filename == "me.png")
        #expect(file.contentType == "image/png")
        #expect(file.data == Self.fileBytes)
        let note = try #require(parts.last)
        #expect(note.name == "note")
        #expect(note.filename == nil)
        #expect(note.contentType == nil)
        #expect(note.data == Array("hello, world".utf8))
    }

    @Test("skips a preamble and an epilogue")
    func preambleAndEpilogue() throws {
        let body = Self.body(boundary: "XyZ", preamble: "This is a preamble.\r\n", epilogue: "\r\ntrailing words")
        let parts = try Multipart.parse(body: body, contentType: "multipart/form-data; boundary=XyZ")
        #expect(parts.map(\.name) == ["file", "note"])
    }

    @Test("an empty part and an empty form")
    func empties() throws {
        let empty = Array("--b\r\nContent-Disposition: form-data; name=\"blank\"\r\n\r\n\r\n--b--\r\n".utf8)
        let parts = try Multipart.parse(body: empty, contentType: "multipart/form-data; boundary=b")
        #expect(parts.count == 1)
        #expect(parts.first?.data == [])
        #expect(try Multipart.parse(body: Array("--b--\r\n".utf8), contentType: "multipart/form-data; boundary=b").isEmpty)
    }

    @Test("refuses other content types", arguments: [nil, "", "application/json", "text/plain; boundary=x", "multipart/mixed; boundary=x"] as [String?])
    func wrongContentType(contentType: String?) {
        #expect(throws: HTTPError.malformedMultipart("Content-Type must be multipart/form-data")) {
            try Multipart.parse(body: Self.body(boundary: "x"), contentType: contentType)
        }
    }

    @Test(
        "refuses a missing, empty or oversized boundary",
        arguments: [
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/form-data; boundary=\"\"",
            "multipart/form-data; name=x",
            "multipart/form-data; boundary=" + String(repeating: "b", count: 71),
        ])
    func missingBoundary(contentType: String) {
        #expect(throws: HTTPError.malformedMultipart("multipart boundary is missing")) {
            try Multipart.parse(body: Self.body(boundary: "x"), contentType: contentType)
        }
    }

    @Test("accepts a 70-character boundary")
    func longestBoundary() throws {
        let boundary = String(repeating: "b", count: 70)
        let parts = try Multipart.parse(body: Self.body(boundary: boundary), contentType: "multipart/form-data; boundary=\(boundary)")
        #expect(parts.count == 2)
    }

    @Test("refuses a body without the boundary")
    func bodyWithoutBoundary() {
        #expect(throws: HTTPError.malformedMultipart("multipart body has no boundary")) {
            try Multipart.parse(body: Self.body(boundary: "other"), contentType: "multipart/form-data; boundary=XyZ")
        }
        #expect(throws: HTTPError.self) {
            try Multipart.parse(body: [], contentType: "multipart/form-data; boundary=XyZ")
        }
    }

    @Test("refuses an unterminated body")
    func unterminated() {
        let truncated = Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nsome data without an end".utf8)
        #expect(throws: HTTPError.malformedMultipart("multipart body is not terminated")) {
            try Multipart.parse(body: truncated, contentType: "multipart/form-data; boundary=XyZ")
        }
        let noHeaderEnd = Array("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n".utf8)
        #expect(throws: HTTPError.malformedMultipart("multipart part has no header end")) {
            try Multipart.parse(body: noHeaderEnd, contentType: "multipart/form-data; boundary=XyZ")
        }
        // The body stops right after a boundary, neither CRLF nor "--" follows.
        #expect(throws: HTTPError.malformedMultipart("multipart boundary is not followed by CRLF")) {
            try Multipart.parse(body: Array("--XyZ".utf8), contentType: "multipart/form-data; boundary=XyZ")
        }
        #expect(throws: HTTPError.malformedMultipart("multipart boundary is not followed by CRLF")) {
            try Multipart.parse(body: Array("--XyZjunk\r\n".utf8), contentType: "multipart/form-data; boundary=XyZ")
        }
    }

    @Test("refuses a part without a name")
    func partWithoutName() {
        let body = Array("--XyZ\r\nContent-Disposition: form-data; filename=\"a.txt\"\r\n\r\nx\r\n--XyZ--\r\n".utf8)
        #expect(throws: HTTPError.malformedMultipart("multipart part has no name")) {
            try Multipart.parse(body: body, contentType: "multipart/form-data; boundary=XyZ")
        }
    }

    /// RFC 7578 (via RFC 2183) makes `filename` a quoted-string, which may hold `;`.
    @Test("a quoted filename may contain a semicolon")
    func quotedSemicolon() throws {
        let body = Array("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a;b.png\"\r\n\r\nx\r\n--b--\r\n".utf8)
        let parts = try Multipart.parse(body: body, contentType: "multipart/form-data; boundary=b")
        #expect(parts.first?.name == "file")
        #expect(parts.first?.filename == "a;b.png")
    }

    @Test("header parameters: quoted, unquoted, case-insensitive keys")
    func parameters() {
        #expect(Multipart.parameter("name", in: "form-data; name=\"avatar\"; filename=\"a b.png\"") == "avatar")
        #expect(Multipart.parameter("filename", in: "form-data; name=\"avatar\"; filename=\"a b.png\"") == "a b.png")
        #expect(Multipart.parameter("name", in: "form-data; NAME=plain") == "plain")
        #expect(Multipart.parameter("name", in: "form-data") == nil)
        // The first piece is the value itself, never a parameter.
        #expect(Multipart.parameter("form-data", in: "form-data; name=x") == nil)
        #expect(Multipart.parameter("boundary", in: "multipart/form-data; boundary=a=b") == "a=b")
        // Quoted values may hold ';' and escaped quotes.
        #expect(Multipart.parameter("filename", in: #"form-data; name="f"; filename="say \"hi\"; now.txt""#) == #"say "hi"; now.txt"#)
        #expect(Multipart.parameter("name", in: #"form-data; filename="x;name=evil"; name="real""#) == "real")
    }
}
