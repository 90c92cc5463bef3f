import TroupeCore

/// Where a page of a newest-first list ends: the last item's creation time and id.
///
/// On the wire it is opaque and signed with the server's secret over the workspace and the
/// list it came from, so a forged cursor or one from another workspace is refused (400).
struct PageCursor: Sendable, Equatable {
    let createdAt: Int64
    let id: String

    /// Signs and decodes cursors.
    struct Codec: Sendable {
        let mac: HMACSHA256

        func encode(_ cursor: PageCursor, scope: String) -> String {
            let payload = "\(cursor.createdAt)|\(cursor.id)"
            return Base64URL.encode(payload.utf8) + "." + Base64URL.encode(tag(payload, scope))
        }

        func decode(_ text: String, scope: String) throws(APIError) -> PageCursor {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 2, let payloadBytes = Base64URL.decode(parts[0]), let signature = Base64URL.decode(parts[1]),
                let payload = String(validating: payloadBytes, as: UTF8.self),
                ConstantTime.equals(signature, tag(payload, scope))
            else { throw APIError(.invalidRequest, "The cursor is not one this list returned.") }
            let fields = payload.split(separator: "|", maxSplits: 1)
            guard fields.count == 2, let createdAt = Int64(fields[0]) else {
                throw APIError(.invalidRequest, "The cursor is not one this list returned.")
            }
            return PageCursor(createdAt: createdAt, id: String(fields[1]))
        }

        private func tag(_ payload: String, _ scope: String) -> [UInt8] {
            Array(mac.authenticationCode(for: "cursor|\(scope)|\(payload)").prefix(16))
        }
    }
}

/// `?limit=` and `?cursor=` of a list route (API.md: limit 1–200, default 50).
struct PageRequest: Sendable {
    let limit: Int
    let cursor: PageCursor?

    init(query: QueryParameters, codec: PageCursor.Codec, scope: String) throws(APIError) {
        if let text = query["limit"] {
            guard let limit = Int(text), (1...200).contains(limit) else {
                throw APIError(.invalidRequest, "limit must be an integer from 1 to 200.")
            }
            self.limit = limit
        } else {
            limit = 50
        }
        cursor = try query["cursor"].map { text throws(APIError) in try codec.decode(text, scope: scope) }
    }
}
