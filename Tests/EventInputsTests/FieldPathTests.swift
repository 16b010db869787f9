import EventInputs
import Testing

@Suite struct FieldPathTests {
    static let document = JSONValue.parse(
        Array(#"{"a":{"b":[{"c":1},{"c":"two"}],"n":null},"x.y":3}"#.utf8))!

    @Test(arguments: [
        ("a.b[0].c", JSONValue.integer(1)),
        ("a.b[1].c", .string("two")),
        ("a.n", .null),
    ])
    func readsAValue(path: String, expected: JSONValue) throws {
        let parsed = try #require(FieldPath(path))
        #expect(Self.document.value(at: parsed) == expected)
    }

    @Test(arguments: ["a.b[2].c", "a.b.c", "a.missing", "a.b[0].c.d", "x.y"])
    func missingStepsAreNil(path: String) throws {
        let parsed = try #require(FieldPath(path))
        #expect(Self.document.value(at: parsed) == nil)
    }

    @Test(arguments: ["", "a..b", ".a", "a.", "a[", "a[x]", "a[-1]", "a]"])
    func malformedPathsAreRefused(path: String) {
        #expect(FieldPath(path) == nil)
    }

    @Test func templatesSplitIntoTextAndPaths() throws {
        let parts = try #require(ValueSource.template("t-{after.id}-{source.lsn}"))
        #expect(parts.count == 4)
        #expect(ValueSource.template("t-{after.id") == nil)
        #expect(ValueSource.template("t-}") == nil)
        #expect(ValueSource.template("{a..b}") == nil)
    }
}
