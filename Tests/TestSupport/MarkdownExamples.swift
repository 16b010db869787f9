import Foundation

/// The fenced ```yaml blocks of a Markdown page of the repository, with the line each starts on:
/// the docs' examples, which tests feed to the real parsers so they cannot drift.
public enum MarkdownExamples {
    /// The repository's root (three levels above this file).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static func yamlBlocks(in text: String) -> [(line: Int, text: String)] {
        var blocks: [(Int, String)] = []
        var current: [String]?
        var start = 0
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if current == nil, trimmed == "```yaml" {
                current = []
                start = n + 2
            } else if current != nil, trimmed == "```" {
                blocks.append((start, current!.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.append(String(line))
            }
        }
        return blocks
    }

    /// The yaml blocks of `path` (relative to the repository's root).
    public static func yamlBlocks(ofFile path: String) throws -> [(line: Int, text: String)] {
        yamlBlocks(in: try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8))
    }
}
