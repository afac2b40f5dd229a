import Foundation

/// Defaults for flags from `TENANTRY_<FLAG>` environment variables: a flag given on the
/// command line wins, then the environment, then the built-in default.
enum Environment {
    static func string(_ flag: String, _ fallback: String) -> String {
        ProcessInfo.processInfo.environment[variable(flag)].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
    }

    static func int(_ flag: String, _ fallback: Int) -> Int {
        Int(string(flag, "")) ?? fallback
    }

    static func bool(_ flag: String) -> Bool {
        ["1", "true", "yes", "on"].contains(string(flag, "").lowercased())
    }

    /// `--log-level` → `TENANTRY_LOG_LEVEL`.
    static func variable(_ flag: String) -> String {
        "TENANTRY_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
    }
}
