/// The bound of every credit amount and balance, and of every sum of money in minor units:
/// 2^53 − 1. Sums of many such values stay far below Int64's limit, and clients that read
/// JSON numbers as doubles (JavaScript) still read them exactly.
public enum Amount {
    public static let maximum: Int64 = 9_007_199_254_740_991

    /// `value` when it is within 1...maximum; code 3 naming `field` otherwise.
    public static func positive(_ value: Int64, field: String) throws -> Int64 {
        guard (1...maximum).contains(value) else { throw DomainError.invalidArgument("\(field) must be between 1 and \(maximum)") }
        return value
    }

    /// `value` when it is within 0...maximum; code 3 naming `field` otherwise.
    public static func nonNegative(_ value: Int64, field: String) throws -> Int64 {
        guard (0...maximum).contains(value) else { throw DomainError.invalidArgument("\(field) must be between 0 and \(maximum)") }
        return value
    }

    /// `a × b`, refused with code 3 when it passes the maximum.
    public static func product(_ a: Int64, _ b: Int64, field: String) throws -> Int64 {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow, product <= maximum, product >= 0 else { throw DomainError.invalidArgument("\(field) would be more than \(maximum)") }
        return product
    }

    /// `a + b`, refused with code 3 when it passes the maximum.
    public static func sum(_ a: Int64, _ b: Int64, field: String) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard !overflow, sum <= maximum else { throw DomainError.invalidArgument("\(field) would be more than \(maximum)") }
        return sum
    }
}

extension Sequence where Element == Int64 {
    /// The sum, held at Int64's limits instead of trapping: for reports over stored rows,
    /// which the bounds above keep far from them.
    func saturatingSum() -> Int64 {
        reduce(0) { total, value in
            let (sum, overflow) = total.addingReportingOverflow(value)
            return overflow ? (value > 0 ? .max : .min) : sum
        }
    }
}
