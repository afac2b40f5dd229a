import Foundation
import GRDB

/// A point in time, in whole milliseconds since the Unix epoch (UTC). Stored as INTEGER;
/// shown as RFC 3339 at the edge.
public struct Instant: Hashable, Comparable, Sendable, Codable, DatabaseValueConvertible, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(_ date: Date) { self.milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.milliseconds < rhs.milliseconds }

    public func adding(milliseconds delta: Int64) -> Instant { Instant(milliseconds: milliseconds + delta) }
    public func adding(seconds: Int64) -> Instant { adding(milliseconds: seconds * 1000) }
    public func adding(minutes: Int64) -> Instant { adding(seconds: minutes * 60) }
    public func adding(days: Int64) -> Instant { adding(seconds: days * 86_400) }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public init(from decoder: any Decoder) throws {
        milliseconds = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(milliseconds)
    }

    public var databaseValue: DatabaseValue { milliseconds.databaseValue }

    public static func fromDatabaseValue(_ value: DatabaseValue) -> Instant? {
        Int64.fromDatabaseValue(value).map(Instant.init(milliseconds:))
    }

    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-21T05:04:05.123Z`.
    public var rfc3339: String {
        let days = Int64((Double(milliseconds) / 86_400_000).rounded(.down))
        let msOfDay = milliseconds - days * 86_400_000
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = msOfDay / 1000
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    public var description: String { rfc3339 }

    /// Parses RFC 3339 (`Z` or a numeric offset, optional fraction); nil when it is not one.
    public init?(rfc3339 text: String) {
        let chars = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= chars.count else { return nil }
            var value: Int64 = 0
            for c in chars[start..<(start + count)] {
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
            }
            return value
        }
        guard chars.count >= 20,
            let year = number(0, 4), chars[4] == 45, let month = number(5, 2), chars[7] == 45, let day = number(8, 2),
            chars[10] == 84 || chars[10] == 116 || chars[10] == 32,
            let hour = number(11, 2), chars[13] == 58, let minute = number(14, 2), chars[16] == 58, let second = number(17, 2),
            (1...12).contains(month), (1...Months.daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < chars.count, chars[index] == 46 {
            index += 1
            var digits = 0
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                if digits < 3 { fraction = fraction * 10 + Int64(chars[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            // Milliseconds: digits past the third are dropped, missing ones are zeros.
            for _ in 0..<max(0, 3 - digits) { fraction *= 10 }
        }
        guard index < chars.count else { return nil }
        var offsetMinutes: Int64 = 0
        if chars[index] == 90 || chars[index] == 122 {
            index += 1
        } else if chars[index] == 43 || chars[index] == 45 {
            guard let oh = number(index + 1, 2), chars.count > index + 3, chars[index + 3] == 58, let om = number(index + 4, 2),
                oh < 24, om < 60
            else { return nil }
            offsetMinutes = (oh * 60 + om) * (chars[index] == 45 ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == chars.count else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60
        self.milliseconds = seconds * 1000 + fraction
    }

    // Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
