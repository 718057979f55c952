//! The error codes of the contract (`spec/CONTRACT.md`, "Statuses and error codes", which gives
//! each code's status and message), as named constants.
//!
//! Codes marked (CF) are Cloudflare's own. The others are this project's choice (the contract
//! calls them "ours"): Cloudflare does not publish codes for those cases, so they live in their own
//! range, `19000..20000`, where they cannot be mistaken for a code of the real service.

/// (CF) Missing or invalid credentials: 403 `Authentication error`.
pub const AUTHENTICATION_ERROR: u32 = 10000;
/// (CF) The key does not exist (or has expired): 404 `get: 'key not found'`.
pub const KEY_NOT_FOUND: u32 = 10009;
/// (CF) The namespace does not exist: 404 `<op>: 'namespace not found'`.
pub const NAMESPACE_NOT_FOUND: u32 = 10013;
/// (CF) A namespace with this title already exists in the account: 400.
pub const DUPLICATE_NAMESPACE_TITLE: u32 = 10014;

/// (ours) The key is empty, `.` or `..`, or its path segment is not valid percent-encoded UTF-8.
pub const INVALID_KEY: u32 = 19001;
/// (ours) The key is longer than 512 bytes: 414.
pub const KEY_TOO_LONG: u32 = 19002;
/// (ours) The value is larger than 25 MiB: 413.
pub const VALUE_TOO_LARGE: u32 = 19003;
/// (ours) The metadata JSON is larger than 1024 bytes: 413.
pub const METADATA_TOO_LARGE: u32 = 19004;
/// (ours) `expiration_ttl` is under 60 or not a positive integer: 400.
pub const INVALID_EXPIRATION_TTL: u32 = 19005;
/// (ours) `expiration` is less than 60 s in the future or not a positive integer: 400.
pub const INVALID_EXPIRATION: u32 = 19006;
/// (ours) The metadata is not valid JSON: 400.
pub const INVALID_METADATA: u32 = 19007;
/// (ours) The request body cannot be read: bad multipart, bad JSON, missing `value` part: 400.
pub const INVALID_REQUEST_BODY: u32 = 19008;
/// (ours) The list `limit` is outside 10..=1000: 400.
pub const INVALID_LIST_LIMIT: u32 = 19009;
/// (ours) A bulk request has too many items: 413 (write, delete) or 400 (get).
pub const BULK_TOO_MANY_ITEMS: u32 = 19010;
/// (ours) A bulk request body is larger than 100 MB: 413.
pub const BULK_TOO_LARGE: u32 = 19011;
/// (ours) The same key was written twice within one second: 429 with `Retry-After: 1`.
pub const KEY_RATE_LIMITED: u32 = 19012;
/// (ours) The account is over its request rate: 429 with `Retry-After`.
pub const ACCOUNT_RATE_LIMITED: u32 = 19013;
/// (ours) No route matches the path: 404.
pub const ROUTE_NOT_FOUND: u32 = 19014;
/// (ours) The route exists but not for this method: 405.
pub const METHOD_NOT_ALLOWED: u32 = 19015;
/// (ours) The list cursor was not issued by this store: 400.
pub const INVALID_CURSOR: u32 = 19016;
/// (ours) A query parameter other than those above is malformed (`page`, `per_page`, ...): 400.
pub const INVALID_QUERY: u32 = 19017;
/// (ours) A failure injected on purpose by a test (kv-mock's faults).
pub const INJECTED_FAULT: u32 = 19018;
/// (ours) The server failed unexpectedly: 500.
pub const INTERNAL_ERROR: u32 = 19019;
/// (ours) The namespace title is empty, or longer than 512 characters: 400.
pub const INVALID_NAMESPACE_TITLE: u32 = 19020;
/// (ours, reserved) The request is not HTTP/1.1 a server can parse. kv-mock no longer sends it:
/// a malformed request head gets hyper's own answer (400, 414 or 431 with an empty body) and a
/// closed connection, since it never reaches the API. Kept so the number is not reused.
pub const MALFORMED_REQUEST: u32 = 19021;
