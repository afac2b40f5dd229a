import TenantryAPI
import TenantryCore
import Testing

@Suite("JSON: parsing, writing and the seed's request conventions")
struct JSONTests {
    @Test("parses every kind of value and keeps numbers exact")
    func parse() throws {
        let json = try JSONParser.parse(Array(#" { "a": [1, -2.5e3, true, false, null], "b": {"c": "d\u00e9\n\"q\""}, "big": 9223372036854775807 } "#.utf8))
        #expect(json["a"] == [.number("1"), .number("-2.5e3"), true, false, nil])
        #expect(json["b"]?["c"] == "dé\n\"q\"")
        #expect(json["big"] == .number("9223372036854775807"))
        #expect(try JSONParser.parse(Array(#""\ud83d\ude00""#.utf8)) == "😀")
    }

    @Test(
        "rejects malformed text with the offset and reason",
        arguments: [
            "{", "{\"a\" 1}", "[1,]", "{\"a\":1,}", "01", "1.", "-", "\"\\x\"", "\"unterminated", "tru", "{} {}", "\"\u{1}\"", "\"\\ud800\"",
        ])
    func rejects(text: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test("refuses nesting past the depth limit instead of overflowing the stack")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        _ = try JSONParser.parse(Array(fine.utf8))
    }

    @Test("writes compact JSON in key order, escaping what a browser could read as HTML")
    func write() throws {
        let value: JSON = ["z": 1, "a": ["x": "<b>&</b>", "n": nil], "t": "tab\tquote\"\u{1}"]
        let text = String(decoding: value.bytes, as: UTF8.self)
        #expect(text == #"{"z":1,"a":{"x":"\u003cb\u003e\u0026\u003c/b\u003e","n":null},"t":"tab\tquote\"\u0001"}"#)
        #expect(try JSONParser.parse(value.bytes) == value)
    }

    @Test("int64 fields: a number or a decimal string in, defaults when missing, clear errors otherwise")
    func int64Fields() throws {
        let body = RequestBody(["n": 42, "s": " -7 ", "big": "9223372036854775807", "f": .number("1.5"), "over": "9223372036854775808", "b": true, "null": nil])
        #expect(try body.int64("n") == 42)
        #expect(try body.int64("s") == -7)
        #expect(try body.int64("big") == Int64.max)
        #expect(try body.int64("missing") == 0)
        #expect(try body.int64("null") == 0)
        #expect(throws: DomainError.self) { try body.int64("f") }
        #expect(throws: DomainError.self) { try body.int64("over") }
        #expect(throws: DomainError.invalidArgument("b must be an integer (a number or a decimal string)")) { try body.int64("b") }
        #expect(throws: DomainError.self) { try body.int32("big") }
    }

    @Test("other fields take their type's default when missing and name themselves when wrong")
    func defaults() throws {
        let body = RequestBody(["s": "x", "flag": true, "list": ["a"], "obj": ["k": "v"], "wrong": 3])
        #expect(try body.string("missing") == "")
        #expect(try body.bool("missing") == false)
        #expect(try body.array("missing").isEmpty)
        #expect(try body.object("missing") == nil)
        #expect(try body.strings("list") == ["a"])
        #expect(try body.object("obj")?.string("k") == "v")
        #expect(throws: DomainError.invalidArgument("wrong must be a string")) { try body.string("wrong") }
        #expect(throws: DomainError.invalidArgument("wrong must be true or false")) { try body.bool("wrong") }
        #expect(throws: DomainError.invalidArgument("wrong must be an array")) { try body.array("wrong") }
        #expect(throws: DomainError.invalidArgument("list[0] must be an object")) { try body.objects("list") }
        let dates = RequestBody(["at": "2027-01-02T03:04:05+01:00", "empty": "", "bad": "tomorrow"])
        #expect(try dates.date("at") == Instant(rfc3339: "2027-01-02T02:04:05Z"))
        #expect(try dates.date("empty") == nil)
        #expect(try dates.date("missing") == nil)
        #expect(throws: DomainError.invalidArgument("bad must be an RFC 3339 date-time")) { try dates.date("bad") }
        #expect(throws: DomainError.invalidArgument("missing is required")) { try dates.requiredDate("missing") }
    }
}
