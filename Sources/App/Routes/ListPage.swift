import TroupeCore

/// API.md's list shape: `{"data": [...], "next_cursor": "…" | null, "has_more": bool}`.
enum ListPage {
    /// The page of `items` (fetched with one more than the limit, to know whether more follow).
    static func json<Item>(
        _ items: [Item], limit: Int, codec: PageCursor.Codec, scope: String,
        cursor: (Item) -> PageCursor, render: (Item) -> JSON
    ) -> JSON {
        let page = items.prefix(limit)
        let hasMore = items.count > limit
        let next = hasMore ? page.last.map { JSON.string(codec.encode(cursor($0), scope: scope)) } ?? .null : .null
        return ["data": .array(page.map(render)), "next_cursor": next, "has_more": .bool(hasMore)]
    }
}
