/// One part of a `multipart/form-data` body.
public struct MultipartPart: Sendable {
    public let name: String
    public let filename: String?
    public let contentType: String?
    public let data: [UInt8]
}

/// A strict parser for `multipart/form-data` (RFC 7578): enough for file uploads.
public enum Multipart {
    public static func parse(body: [UInt8], contentType: String?) throws -> [MultipartPart] {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data") else {
            throw HTTPError.malformedMultipart("Content-Type must be multipart/form-data")
        }
        guard let boundary = parameter("boundary", in: contentType), !boundary.isEmpty, boundary.utf8.count <= 70 else {
            throw HTTPError.malformedMultipart("multipart boundary is missing")
        }
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [MultipartPart] = []
        guard var cursor = find(delimiter, in: body, from: 0) else {
            throw HTTPError.malformedMultipart("multipart body has no boundary")
        }
        cursor += delimiter.count
        while true {
            if body.count >= cursor + 2, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") { return parts }
            guard body.count >= cursor + 2, body[cursor] == 13, body[cursor + 1] == 10 else {
                throw HTTPError.malformedMultipart("multipart boundary is not followed by CRLF")
            }
            cursor += 2
            guard let headerEnd = find([13, 10, 13, 10], in: body, from: cursor) else {
                throw HTTPError.malformedMultipart("multipart part has no header end")
            }
            let headerText = String(decoding: body[cursor..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = find([13, 10] + delimiter, in: body, from: contentStart) else {
                throw HTTPError.malformedMultipart("multipart body is not terminated")
            }
            var name: String?
            var filename: String?
            var partType: String?
            for line in headerText.split(separator: "\r\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let field = line[..<colon].lowercased()
                let value = String(line[line.index(after: colon)...]).trimmed
                if field == "content-disposition" {
                    name = parameter("name", in: value)
                    filename = parameter("filename", in: value)
                } else if field == "content-type" {
                    partType = value
                }
            }
            guard let name else { throw HTTPError.malformedMultipart("multipart part has no name") }
            parts.append(MultipartPart(name: name, filename: filename, contentType: partType, data: Array(body[contentStart..<next])))
            cursor = next + 2 + delimiter.count
        }
    }

    /// The value of `key=value` or `key="value"` among `;`-separated header parameters;
    /// a quoted value may hold `;` and `\"`.
    static func parameter(_ key: String, in header: String) -> String? {
        var index = header.firstIndex(of: ";") ?? header.endIndex
        while index < header.endIndex {
            index = header.index(after: index)
            while index < header.endIndex, header[index] == " " || header[index] == "\t" { index = header.index(after: index) }
            let nameStart = index
            while index < header.endIndex, header[index] != "=", header[index] != ";" { index = header.index(after: index) }
            let name = header[nameStart..<index].trimmed.lowercased()
            var value = ""
            if index < header.endIndex, header[index] == "=" {
                index = header.index(after: index)
                if index < header.endIndex, header[index] == "\"" {
                    index = header.index(after: index)
                    while index < header.endIndex, header[index] != "\"" {
                        if header[index] == "\\", header.index(after: index) < header.endIndex { index = header.index(after: index) }
                        value.append(header[index])
                        index = header.index(after: index)
                    }
                    if index < header.endIndex { index = header.index(after: index) }
                    while index < header.endIndex, header[index] != ";" { index = header.index(after: index) }
                } else {
                    let valueStart = index
                    while index < header.endIndex, header[index] != ";" { index = header.index(after: index) }
                    value = header[valueStart..<index].trimmed
                }
            }
            if name == key { return value }
        }
        return nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    var trimmed: String {
        var view = Substring(self)
        while let first = view.first, first == " " || first == "\t" { view.removeFirst() }
        while let last = view.last, last == " " || last == "\t" { view.removeLast() }
        return String(view)
    }
}
