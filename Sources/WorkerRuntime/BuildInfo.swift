import CBuildInfo

/// What the running binary is: its version (the chart's `appVersion`, one value for the image, the
/// chart and every executable; `BuildInfoTests` fails when they disagree) and the git commit it was
/// built from, when the build had one (`FLEET_GIT_COMMIT` at build time).
public enum BuildInfo {
    /// The fleet's version; equal to `appVersion` in `helm/account-health-fleet/Chart.yaml`.
    public static let version = "0.1.0"

    /// The git commit of the build, or `nil` when it was built without `FLEET_GIT_COMMIT`.
    public static var commit: String? {
        let text = String(cString: fleet_build_commit())
        return text.isEmpty ? nil : text
    }

    /// What `--version` prints: `<executable> <version> (commit <sha>)`, or `(commit unknown)`.
    public static func versionLine(executable: String) -> String {
        "\(executable) \(version) (commit \(commit ?? "unknown"))"
    }

    /// The labels of `fleet_build_info`: the version and the commit (`unknown` when not known).
    public static var metricLabels: [(String, String)] { [("version", version), ("commit", commit ?? "unknown")] }
}
