/// Runs `body` for every element at once and returns the results in the
/// elements' order, whichever finishes first: a cluster's nodes preflighted,
/// or a step run on them, together.
func inOrder<Element: Sendable, Result: Sendable>(
    _ elements: [Element], _ body: @escaping @Sendable (Element) async -> Result
) async -> [Result] {
    await withTaskGroup(of: Indexed<Result>.self) { group in
        for (position, element) in elements.enumerated() {
            group.addTask { Indexed(position: position, value: await body(element)) }
        }
        var done: [Indexed<Result>] = []
        for await result in group { done.append(result) }
        return done.sorted { $0.position < $1.position }.map(\.value)
    }
}

private struct Indexed<Value: Sendable>: Sendable {
    var position: Int
    var value: Value
}
