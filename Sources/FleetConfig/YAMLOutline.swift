import Yams

/// Where things are in a configuration file, for problems that span files: the destination names
/// a rules file mentions and the names a destinations file defines, each with its line. Reads the
/// YAML tree only; the files' own parsers judge everything else.
struct YAMLOutline {
    /// A name with the key path and line it was found at.
    struct Mention: Equatable {
        var name: String
        var key: String
        var line: Int?
    }

    let root: Node.Mapping

    /// nil when the text is not a YAML mapping (its parser reports why).
    init?(_ text: String) {
        guard let node = try? Yams.compose(yaml: text), let mapping = node.mapping else { return nil }
        root = mapping
    }

    /// The keys of the `destinations` mapping, in file order.
    var destinationNames: [Mention] {
        guard let list = root["destinations"]?.mapping else { return [] }
        return list.compactMap { key, _ in
            key.string.map { Mention(name: $0, key: "destinations.\($0)", line: key.mark?.line) }
        }
    }

    /// `routes[i].destination` of a rules file.
    var routeDestinations: [Mention] {
        guard let routes = root["routes"]?.sequence else { return [] }
        return routes.enumerated().compactMap { i, route in
            guard let value = route.mapping?["destination"], let name = value.string, !name.isEmpty else { return nil }
            return Mention(name: name, key: "routes[\(i)].destination", line: value.mark?.line)
        }
    }

    /// The line of `destinations.<name>.<field>`, if that key is there.
    func line(destination name: String, field: String) -> Int? {
        guard let body = root["destinations"]?.mapping?[name]?.mapping else { return nil }
        for (key, _) in body where key.string == field { return key.mark?.line }
        return nil
    }
}
