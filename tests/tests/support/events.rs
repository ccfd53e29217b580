//! Lambda events the HTTP tests send.

use serde_json::{Value, json};

/// An HTTP API / Function URL (payload 2.0) request `POST {path}` with `headers` and `body`.
pub(crate) fn http_api(path: &str, headers: &Value, body: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": { "accountId": "1", "apiId": "a", "domainName": "x.lambda-url.us-east-1.on.aws",
            "domainPrefix": "x", "requestId": "req", "routeKey": "$default", "stage": "$default",
            "time": "03/Dec/2026:10:00:00 +0000", "timeEpoch": 1_796_292_000_000_i64,
            "http": { "method": "POST", "path": path, "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.1", "userAgent": "test" } },
        "body": body, "isBase64Encoded": false
    })
}
