import TroupeActors
import TroupeCore

/// The webhooks' part of the document.
extension OpenAPIDocument {
    static let webhookOperations: [Operation] = [
        Operation(method: "post", path: "/v1/webhooks",
                  summary: "Registers a webhook (webhooks:manage; people: admins). url must be http or https with a host (422 otherwise); events are event types or [\"*\"]; secret, when given, at least 16 characters, else one is generated (whsec_…). The answer shows the secret once; it is stored sealed. Every matching event committed from then on is owed a delivery from its commit (the event's own row is the outbox: it survives restarts and crashes, at least once, a duplicate carrying the same event id); deliveries go out in event order, and each is POSTed with its Event JSON and Troupe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>, at most 4 at a time per webhook, within 10 s, redirects not followed; a non-2xx answer or an error is retried with exponential back-off and jitter for 24 h, every attempt recorded. Unless webhook_private_networks, an address that resolves to any range of the IANA special-purpose registries that is not globally reachable (loopback, private, shared 100.64/10, link-local, unique-local, site-local, multicast, reserved, benchmarking, documentation, unspecified, and the IPv4 inside IPv4-mapped, NAT64, 6to4 and Teredo addresses) is never connected to: the delivery fails with blocked_address, unretried. An attempt's error is one of timeout, connect_failed, tls_error, blocked_address, bad_status, or null. A workspace has at most 20 webhooks (429). https is checked against the system trust store (TLS failures are recorded as tls_error); http and https reach IPv4 and IPv6 receivers, and both connect to the address that was checked (https through the server's egress proxy, which tunnels only to it), so a name whose answer changes after the check reaches nothing else.",
                  authenticated: true, request: object([("url", ["type": "string", "maxLength": 2048]), ("events", ["type": "array", "items": string]),
                                                        ("description", ["type": "string", "maxLength": 256]), ("secret", ["type": "string", "minLength": 16, "maxLength": 256])],
                                                       required: ["url", "events"]),
                  success: ("201", webhookSchema(withSecret: true)), errors: ["400", "401", "403", "422", "429"]),
        Operation(method: "get", path: "/v1/webhooks", summary: "The workspace's webhooks, newest first, without their secrets (events:read; people: viewers and above).",
                  authenticated: true, success: ("200", object([("data", ["type": "array", "items": ref("Webhook")]), ("next_cursor", ["type": ["string", "null"]]),
                                                                ("has_more", ["type": "boolean"])])), errors: ["400", "401", "403", "429"]),
        Operation(method: "delete", path: "/v1/webhooks/{id}", summary: "Deletes a webhook (webhooks:manage); its deliveries are kept. Another workspace's is 404.",
                  authenticated: true, success: ("204", nil), errors: ["401", "403", "404", "429"]),
        Operation(method: "get", path: "/v1/webhooks/{id}/deliveries", summary: "A webhook's deliveries, newest first (events:read; any member). A webhook has at most 16 deliveries pending in its queue; the events behind them are listed too, as pending deliveries with no attempts, next_attempt_at their event's time, and the id they keep once queued. The 24 h of retries count from the event's commit.",
                  authenticated: true, success: ("200", object([("data", ["type": "array", "items": ref("WebhookDelivery")]), ("next_cursor", ["type": ["string", "null"]]),
                                                                ("has_more", ["type": "boolean"])])), errors: ["400", "401", "403", "404", "429"]),
    ]

    static func webhookSchema(withSecret: Bool) -> JSON {
        var properties: [(String, JSON)] = [("id", string), ("url", string), ("events", ["type": "array", "items": string]),
                                            ("description", ["type": ["string", "null"]]), ("created_at", time)]
        if withSecret { properties.append(("secret", string)) }
        return object(properties, required: properties.map(\.0))
    }

    static let deliverySchema = object([
        ("id", string), ("webhook_id", string), ("event_id", string), ("event_type", string),
        ("status", ["type": "string", "enum": ["pending", "succeeded", "failed"]]),
        ("attempts", ["type": "array", "items": object([("at", time), ("status_code", ["type": ["integer", "null"]]), ("error", ["type": ["string", "null"]]),
                                                        ("duration_ms", ["type": "integer"])])]),
        ("next_attempt_at", ["type": ["string", "null"], "format": "date-time"]), ("created_at", time),
    ], required: ["id", "webhook_id", "event_id", "event_type", "status", "attempts", "next_attempt_at", "created_at"])
}
