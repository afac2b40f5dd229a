import GRDB

/// Totals per UTC day over the last `days` days, today included, with zeros for quiet days:
/// what the usage chart and the operator's dashboard plot.
enum DailyTotals {
    static let dayMilliseconds: Int64 = 86_400_000

    /// `sql` selects `day` (the UTC midnight, in milliseconds) and `total`, grouped by day,
    /// from the first day on; `arguments` gets that first midnight.
    static func fetch(
        _ db: Database, days: Int, endingAt now: Instant, sql: String, arguments: (Int64) -> StatementArguments
    ) throws -> [(day: Instant, amount: Int64)] {
        let first = now.milliseconds - now.milliseconds % dayMilliseconds - Int64(days - 1) * dayMilliseconds
        var perDay: [Int64: Int64] = [:]
        for row in try Row.fetchAll(db, sql: sql, arguments: arguments(first)) { perDay[row["day"]] = row["total"] }
        return (0..<Int64(days)).map { index in
            let day = first + index * dayMilliseconds
            return (Instant(milliseconds: day), perDay[day] ?? 0)
        }
    }
}
