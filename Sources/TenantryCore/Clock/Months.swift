/// Calendar months in UTC, the way billing counts them: the same day of the month as the
/// anchor, or the month's last day when it is shorter (Jan 31 → Feb 28 → Mar 31).
public enum Months {
    public static func add(_ months: Int, to anchor: Instant) -> Instant {
        let dayMs: Int64 = 86_400_000
        let days = Int64((Double(anchor.milliseconds) / Double(dayMs)).rounded(.down))
        let timeOfDay = anchor.milliseconds - days * dayMs
        let (year, month, day) = Instant.civil(fromDays: days)
        let total = year * 12 + (month - 1) + Int64(months)
        let newYear = total >= 0 ? total / 12 : (total - 11) / 12
        let newMonth = total - newYear * 12 + 1
        let clampedDay = min(day, daysIn(month: newMonth, year: newYear))
        return Instant(milliseconds: Instant.days(fromCivil: newYear, newMonth, clampedDay) * dayMs + timeOfDay)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
