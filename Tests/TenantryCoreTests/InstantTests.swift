import Foundation
import Testing

@testable import TenantryCore

@Suite("Instant")
struct InstantTests {
    // MARK: Formatting

    @Test("formats the epoch")
    func formatsEpoch() {
        #expect(Instant(milliseconds: 0).rfc3339 == "1970-01-01T00:00:00.000Z")
        #expect(Instant(milliseconds: 0).description == "1970-01-01T00:00:00.000Z")
    }

    @Test(
        "formats known instants",
        arguments: [
            (Int64(1_709_210_096_789), "2024-02-29T12:34:56.789Z"),  // a leap day
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),  // leap day of a year divisible by 400
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),  // 2100 is not a leap year
            (1_795_237_445_123, "2026-11-21T05:04:05.123Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (1, "1970-01-01T00:00:00.001Z"),
        ])
    func formatsKnownInstants(milliseconds: Int64, expected: String) {
        #expect(Instant(milliseconds: milliseconds).rfc3339 == expected)
    }

    @Test(
        "formats instants before the epoch",
        arguments: [
            (Int64(-1), "1969-12-31T23:59:59.999Z"),
            (-1000, "1969-12-31T23:59:59.000Z"),
            (-86_400_000, "1969-12-31T00:00:00.000Z"),
            (-86_400_001, "1969-12-30T23:59:59.999Z"),
            (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
        ])
    func formatsNegativeInstants(milliseconds: Int64, expected: String) {
        #expect(Instant(milliseconds: milliseconds).rfc3339 == expected)
    }

    @Test("formatting agrees with Foundation's ISO 8601 formatter")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            // 1970 ± ~250 years, on whole milliseconds.
            let milliseconds = Int64.random(in: -7_000_000_000_000...7_000_000_000_000, using: &generator)
            let instant = Instant(milliseconds: milliseconds)
            let parsed = formatter.date(from: instant.rfc3339)
            #expect(parsed.map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) } == milliseconds, "\(instant.rfc3339)")
        }
    }

    // MARK: Parsing

    @Test("parses Z, lower-case z and t, and a space separator")
    func parsesZulu() {
        #expect(Instant(rfc3339: "1970-01-01T00:00:00Z")?.milliseconds == 0)
        #expect(Instant(rfc3339: "1970-01-01t00:00:00z")?.milliseconds == 0)
        #expect(Instant(rfc3339: "1970-01-01 00:00:00Z")?.milliseconds == 0)
        #expect(Instant(rfc3339: "2024-02-29T12:34:56.789Z")?.milliseconds == 1_709_210_096_789)
        #expect(Instant(rfc3339: "1969-12-31T23:59:59.999Z")?.milliseconds == -1)
        #expect(Instant(rfc3339: "1900-01-01T00:00:00Z")?.milliseconds == -2_208_988_800_000)
    }

    @Test("applies numeric offsets")
    func parsesOffsets() {
        // 02:00 at +02:00 is midnight UTC.
        #expect(Instant(rfc3339: "1970-01-01T02:00:00+02:00")?.milliseconds == 0)
        // 19:00 the day before at -05:00 is midnight UTC.
        #expect(Instant(rfc3339: "1969-12-31T19:00:00-05:00")?.milliseconds == 0)
        #expect(Instant(rfc3339: "2024-03-01T01:30:00+05:30") == Instant(rfc3339: "2024-02-29T20:00:00Z"))
        #expect(Instant(rfc3339: "2024-02-29T12:34:56.789+00:00")?.milliseconds == 1_709_210_096_789)
        #expect(Instant(rfc3339: "2024-02-29T12:34:56.789-00:00")?.milliseconds == 1_709_210_096_789)
        let shifted = Instant(rfc3339: "2026-06-01T12:00:00+02:00")
        let utc = Instant(rfc3339: "2026-06-01T10:00:00Z")
        #expect(shifted != nil && shifted == utc)
    }

    @Test(
        "reads 1 to 3 fractional digits as milliseconds",
        arguments: [
            ("1970-01-01T00:00:00.5Z", Int64(500)),
            ("1970-01-01T00:00:00.05Z", 50),
            ("1970-01-01T00:00:00.12Z", 120),
            ("1970-01-01T00:00:00.123Z", 123),
            ("1970-01-01T00:00:00.007Z", 7),
            ("1970-01-01T00:00:01.000Z", 1000),
            ("1970-01-01T02:00:00.250+02:00", 250),
        ])
    func parsesShortFractions(text: String, milliseconds: Int64) {
        #expect(Instant(rfc3339: text)?.milliseconds == milliseconds)
    }

    /// RFC 3339 allows any number of fraction digits; beyond milliseconds they are dropped.
    /// (This once trapped: `digits..<3` with more than 3 digits.)
    @Test("reads 4 to 9 fractional digits, truncated to milliseconds", arguments: [4, 5, 6, 7, 8, 9])
    func parsesLongFractions(digits: Int) {
        let fraction = String("123456789".prefix(digits))
        let expected: Int64 = 1_709_210_096_123 - 3_600_000
        #expect(Instant(rfc3339: "1970-01-01T00:00:01.\(fraction)Z")?.milliseconds == 1123)
        #expect(Instant(rfc3339: "2024-02-29T12:34:56.\(fraction)+01:00")?.milliseconds == expected)
        #expect(Instant(rfc3339: "1969-12-31T23:59:59.\(String(repeating: "9", count: digits))Z")?.milliseconds == -1)
    }

    @Test("accepts a leap second, read as the second before")
    func parsesLeapSecond() {
        #expect(Instant(rfc3339: "2016-12-31T23:59:60Z") == Instant(rfc3339: "2016-12-31T23:59:59Z"))
    }

    @Test(
        "rejects what is not RFC 3339",
        arguments: [
            "",
            "1970-01-01",
            "1970-13-01T00:00:00Z",  // month 13
            "1970-00-01T00:00:00Z",  // month 0
            "2024-02-30T00:00:00Z",  // 30 February
            "2023-02-29T00:00:00Z",  // 29 February of a common year
            "1900-02-29T00:00:00Z",  // 1900 is not a leap year
            "2024-04-31T00:00:00Z",  // April has 30 days
            "2024-01-00T00:00:00Z",  // day 0
            "1970-01-01T00:00:00",  // no zone
            "1970-01-01T00:00:00.123",  // no zone after a fraction
            "1970-01-01T00:00:00Zjunk",  // trailing junk
            "1970-01-01T00:00:00Z ",  // trailing space
            "1970-01-01T00:00:00+02:00x",  // junk after an offset
            "1970-01-01T00:00:00.Z",  // a dot without digits
            "1970-01-01T24:00:00Z",  // hour 24
            "1970-01-01T00:60:00Z",  // minute 60
            "1970-01-01T00:00:61Z",  // second 61
            "1970-01-01X00:00:00Z",  // bad separator
            "1970/01/01T00:00:00Z",
            "1970-1-01T00:00:00Z",
            "70-01-01T00:00:00Z",
            "1970-01-01T00:00:00+0200",  // offset without a colon
            "1970-01-01T00:00:00+02",  // short offset
            "1970-01-01T00:00:00+02:0",
            "1970-01-01T00:00:00 +02:00",
            "+1970-01-01T00:00:00Z",
            "abcd-ef-ghTij:kl:mnZ",
        ])
    func rejectsBadInput(text: String) {
        #expect(Instant(rfc3339: text) == nil)
    }

    /// RFC 3339's time-numoffset is `time-hour ":" time-minute`: hours 00–23, minutes 00–59.
    @Test("rejects offsets outside ±23:59")
    func rejectsOutOfRangeOffsets() {
        #expect(Instant(rfc3339: "1970-01-01T00:00:00+99:99") == nil)
        #expect(Instant(rfc3339: "1970-01-01T00:00:00+24:00") == nil)
        #expect(Instant(rfc3339: "1970-01-01T00:00:00-00:60") == nil)
        let widest: Int64 = (23 * 3600 + 59 * 60) * 1000
        #expect(Instant(rfc3339: "1970-01-01T00:00:00+23:59")?.milliseconds == -widest)
        #expect(Instant(rfc3339: "1970-01-01T00:00:00-23:59")?.milliseconds == widest)
    }

    @Test("round-trips through RFC 3339")
    func roundTrips() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Int64] = [0, 1, -1, 999, -999, 1_709_210_096_789, -2_208_988_800_000, 253_402_300_799_999, -62_135_596_800_000]
        for _ in 0..<1000 { samples.append(Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)) }
        for milliseconds in samples {
            let instant = Instant(milliseconds: milliseconds)
            #expect(Instant(rfc3339: instant.rfc3339) == instant, "\(instant.rfc3339)")
        }
    }

    // MARK: Arithmetic and conversions

    @Test("adds milliseconds, seconds, minutes and days, and compares")
    func arithmetic() {
        let start = Instant(milliseconds: 1_000)
        #expect(start.adding(milliseconds: 5).milliseconds == 1_005)
        #expect(start.adding(seconds: 2).milliseconds == 3_000)
        #expect(start.adding(minutes: 1).milliseconds == 61_000)
        #expect(start.adding(days: 1).milliseconds == 86_401_000)
        #expect(start.adding(seconds: -2).milliseconds == -1_000)
        #expect(start < start.adding(milliseconds: 1))
        #expect(!(start < start))
        #expect([start.adding(days: 1), start, start.adding(seconds: -1)].sorted() == [start.adding(seconds: -1), start, start.adding(days: 1)])
    }

    @Test("converts from and to Date, rounding down to the millisecond")
    func dates() {
        #expect(Instant(Date(timeIntervalSince1970: 1.2345)).milliseconds == 1_234)
        #expect(Instant(Date(timeIntervalSince1970: -0.0005)).milliseconds == -1)
        #expect(Instant(milliseconds: 1_500).date == Date(timeIntervalSince1970: 1.5))
    }

    @Test("encodes as its integer milliseconds")
    func codable() throws {
        let instant = Instant(milliseconds: 1_709_210_096_789)
        let data = try JSONEncoder().encode([instant])
        #expect(String(decoding: data, as: UTF8.self) == "[1709210096789]")
        #expect(try JSONDecoder().decode([Instant].self, from: data) == [instant])
        #expect(Instant.fromDatabaseValue(instant.databaseValue) == instant)
    }

    @Test("a manual clock moves only when told")
    func manualClock() {
        let clock = ManualClock(Instant(milliseconds: 10_000))
        #expect(clock.now().milliseconds == 10_000)
        #expect(clock.now().milliseconds == 10_000)
        clock.advance(seconds: 90)
        #expect(clock.now().milliseconds == 100_000)
        clock.set(Instant(milliseconds: 5))
        #expect(clock.now().milliseconds == 5)
        #expect(ManualClock().now().milliseconds == 1_800_000_000_000)
    }
}
