import Foundation

/// An email address with an optional display name: `Name <addr@example.com>` or a bare address.
public struct MailAddress: Sendable, Equatable {
    public let name: String
    public let address: String

    public init(name: String = "", address: String) throws {
        let address = address.trimmingCharacters(in: .whitespaces)
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
            address.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && !"<>()[],;:\\\"".unicodeScalars.contains($0) })
        else { throw DomainError.invalidArgument("not an email address: \(address)") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DomainError.invalidArgument("an email display name must not contain control characters")
        }
        self.name = name.trimmingCharacters(in: .whitespaces)
        self.address = address
    }

    private init(checked name: String, _ address: String) {
        self.name = name
        self.address = address
    }

    /// Where mail comes from unless `--mail-from` says otherwise.
    public static let defaultSender = MailAddress(checked: "Tenantry", "tenantry@localhost")

    /// Reads `Name <addr>` or `addr`.
    public init(parsing text: String) throws {
        let text = text.trimmingCharacters(in: .whitespaces)
        if let open = text.lastIndex(of: "<"), text.hasSuffix(">") {
            var name = text[..<open].trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
            try self.init(name: name, address: String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
        } else {
            try self.init(address: text)
        }
    }

    /// As a header writes it: the name RFC 2047-encoded when it is not plain ASCII.
    var header: String {
        guard !name.isEmpty else { return address }
        return "\(MailMessage.encodedWord(name, quoting: true)) <\(address)>"
    }
}

/// A complete Internet message (RFC 5322 with MIME): a text and an HTML alternative, both
/// UTF-8 in base64, with Date and Message-ID; ready for SMTP's DATA.
struct MailMessage: Sendable {
    let from: MailAddress
    let to: String
    let subject: String
    let text: String
    let html: String
    let date: Date
    let messageId: String

    init(from: MailAddress, to: String, subject: String, text: String, date: Date, id: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = Self.html(from: text)
        self.date = date
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "localhost"
        messageId = "<\(id)@\(domain)>"
    }

    /// The message as CRLF lines.
    var bytes: [UInt8] {
        let boundary = "tenantry-" + Secrets.token("b").suffix(24)
        var lines = [
            "Date: \(Self.rfc5322Date(date))",
            "From: \(from.header)",
            "To: \(to)",
            "Subject: \(Self.encodedWord(subject, quoting: false))",
            "Message-ID: \(messageId)",
            "MIME-Version: 1.0",
            "Content-Type: multipart/alternative; boundary=\"\(boundary)\"",
            "",
        ]
        for (type, content) in [("text/plain", text), ("text/html", html)] {
            lines += ["--\(boundary)", "Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""]
            lines += Self.base64Lines(content)
        }
        lines += ["--\(boundary)--", ""]
        return Array(lines.joined(separator: "\r\n").utf8)
    }

    /// RFC 2047: plain ASCII as it is (quoted when it holds specials and `quoting`), else
    /// `=?UTF-8?B?…?=` words of at most 75 characters.
    static func encodedWord(_ text: String, quoting: Bool) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }) {
            guard quoting, text.contains(where: { "()<>[]:;@\\,.\"".contains($0) }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        // Split on characters, so no UTF-8 sequence is cut between two words.
        var words: [String] = []
        var chunk = ""
        for character in text {
            if (chunk + String(character)).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }

    private static func base64Lines(_ text: String) -> [String] {
        let encoded = Data(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8).base64EncodedString()
        return stride(from: 0, to: encoded.count, by: 76).map { start in
            let from = encoded.index(encoded.startIndex, offsetBy: start)
            return String(encoded[from..<(encoded.index(from, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex)])
        }
    }

    /// The HTML alternative of a plain-text email: escaped, a paragraph per blank-line
    /// block, and links where the text has URLs.
    static func html(from text: String) -> String {
        let paragraphs = text.components(separatedBy: "\n\n").map { paragraph -> String in
            let escaped =
                paragraph
                .replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            let linked = escaped.split(separator: " ", omittingEmptySubsequences: false).map { word -> String in
                guard word.hasPrefix("https://") || word.hasPrefix("http://") else { return String(word) }
                return "<a href=\"\(word)\">\(word)</a>"
            }.joined(separator: " ")
            return "<p>" + linked.replacingOccurrences(of: "\n", with: "<br>") + "</p>"
        }
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"></head>
            <body style="font-family: -apple-system, 'Segoe UI', Roboto, sans-serif; font-size: 15px; line-height: 1.5; color: #1f2328;">
            \(paragraphs.joined(separator: "\n"))
            </body></html>
            """
    }
}
