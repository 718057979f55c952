//! A small `multipart/form-data` reader (RFC 7578) for captured request bodies: enough to list
//! the parts a client sent with their names, file names, content types and bytes.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FormPart {
    /// The `name` of its `Content-Disposition`.
    pub(crate) name: String,
    /// The `filename`, when it is a file part.
    pub(crate) filename: Option<String>,
    /// Its `Content-Type` header, when it has one.
    pub(crate) content_type: Option<String>,
    /// Its bytes.
    pub(crate) data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The parts of `body`, or a description of what is malformed.
pub(crate) fn parse(body: &[u8], boundary: &str) -> Result<Vec<FormPart>, String> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut rest = match find(body, &delimiter) {
        Some(i) => &body[i + delimiter.len()..],
        None => return Err("no opening boundary".to_owned()),
    };
    for _ in 0..1000 {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("boundary not followed by CRLF")?;
        let end = find(rest, &delimiter).ok_or("no closing boundary")?;
        let part = rest[..end]
            .strip_suffix(b"\r\n")
            .ok_or("part not ended by CRLF")?;
        rest = &rest[end + delimiter.len()..];
        let split = find(part, b"\r\n\r\n").ok_or("part without a blank line after its head")?;
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let data = part[split + 4..].to_vec();
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                return Err(format!("malformed part header {line:?}"));
            };
            if header.trim().eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    if let Some((k, v)) = param.split_once('=') {
                        let v = v.trim().trim_matches('"').to_owned();
                        match k.trim() {
                            "name" => name = Some(v),
                            "filename" => filename = Some(v),
                            _ => {}
                        }
                    }
                }
            } else if header.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(FormPart {
            name: name.ok_or_else(|| format!("part without a name: {head:?}"))?,
            filename,
            content_type,
            data,
        });
    }
    Err("more than 1000 parts".to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
