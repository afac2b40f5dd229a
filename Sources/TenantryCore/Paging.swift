/// Which page of a list, and how many per page: checked once for every paged list.
public struct Paging: Sendable {
    public static let maximumLimit = 100
    /// Far past any real list, and small enough that an offset can never overflow.
    public static let maximumPage = 1_000_000

    public let page: Int
    public let limit: Int

    public init(page: Int, limit: Int) throws {
        guard (1...Self.maximumPage).contains(page) else { throw DomainError.invalidArgument("page must be between 1 and \(Self.maximumPage)") }
        guard (1...Self.maximumLimit).contains(limit) else { throw DomainError.invalidArgument("limit must be between 1 and \(Self.maximumLimit)") }
        self.page = page
        self.limit = limit
    }

    public var offset: Int { (page - 1) * limit }
}
