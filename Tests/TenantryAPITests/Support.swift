import TenantryAPI
import TenantryTesting
import Testing

extension HTTPResponse {
    /// The seed error code of an error answer.
    var errorCode: Int? {
        guard case .number(let text)? = try? json()["code"] else { return nil }
        return Int(text)
    }

    var errorMessage: String {
        guard let json = try? json(), let message = json["message"]?.stringValue else { return "" }
        return message
    }
}

/// Expects the seed's error answer: the code, its HTTP status, and a message that says why.
func expectError(_ response: HTTPResponse, code: Int, containing text: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.errorCode == code, "expected code \(code), got \(response.status) \(response.text)", sourceLocation: sourceLocation)
    #expect(response.status == ErrorResponses.statusByCode[code], "code \(code) must map to HTTP \(ErrorResponses.statusByCode[code] ?? 0)", sourceLocation: sourceLocation)
    if let text {
        #expect(response.errorMessage.contains(text), "message \"\(response.errorMessage)\" should mention \"\(text)\"", sourceLocation: sourceLocation)
    }
}

extension JSON {
    var string: String { stringValue ?? "" }
}
