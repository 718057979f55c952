//! Reading the wait a server asks for: `retry-after-ms` first, then `Retry-After` in seconds or
//! as an HTTP date.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// The longest wait taken from a header; anything longer is clamped (it ends past any deadline
/// anyway, and a huge number must not overflow).
const MAX_ASKED: Duration = Duration::from_secs(365 * 24 * 3600);

/// The wait asked by `headers`, if any: `retry-after-ms` (milliseconds, possibly fractional),
/// else `Retry-After` as seconds (possibly fractional) or as an HTTP date, counted from `now`.
/// A date in the past asks for no wait. Unparseable values are ignored.
pub(crate) fn asked_wait(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(ms) = header_str(headers, "retry-after-ms").and_then(parse_number) {
        return Some(clamp_secs(ms / 1000.0));
    }
    let value = header_str(headers, "retry-after")?;
    if let Some(secs) = parse_number(value) {
        return Some(clamp_secs(secs));
    }
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(
        at.duration_since(now)
            .unwrap_or(Duration::ZERO)
            .min(MAX_ASKED),
    )
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn parse_number(text: &str) -> Option<f64> {
    let n: f64 = text.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

fn clamp_secs(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs)
        .unwrap_or(MAX_ASKED)
        .min(MAX_ASKED)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn milliseconds_win() {
        let now = SystemTime::now();
        let h = headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]);
        assert_eq!(asked_wait(&h, now), Some(Duration::from_millis(1500)));
        let h = headers(&[("retry-after-ms", "2.5")]);
        assert_eq!(asked_wait(&h, now), Some(Duration::from_micros(2500)));
    }

    #[test]
    fn seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            asked_wait(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            asked_wait(&headers(&[("retry-after", " 0.5 ")]), now),
            Some(Duration::from_millis(500))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(
            asked_wait(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(7))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(
            asked_wait(&headers(&[("retry-after", &past)]), now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_ignored() {
        let now = SystemTime::now();
        for bad in ["soon", "-1", "NaN", "inf", ""] {
            assert_eq!(asked_wait(&headers(&[("retry-after", bad)]), now), None);
        }
        assert_eq!(
            asked_wait(&headers(&[("retry-after", "1e30")]), now),
            Some(MAX_ASKED)
        );
        assert_eq!(asked_wait(&HeaderMap::new(), now), None);
    }
}
