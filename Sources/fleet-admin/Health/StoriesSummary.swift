import HealthModel

extension SampleGenerator.Stories {
    /// The story accounts for people, e.g. "collapse acct-0000, billing retry acct-0001, ...";
    /// stories without an account (too few accounts) are left out, "none" if there is none.
    var summary: String {
        let named: [(String, String?)] = [
            ("collapse", collapse), ("billing retry", billingRetry), ("expansion", expansion),
            ("silent", silent), ("re-published ticket", republished), ("cancellation", cancellation),
        ]
        let present = named.compactMap { story, account in account.map { "\(story) \($0)" } }
        return present.isEmpty ? "none" : present.joined(separator: ", ")
    }
}
