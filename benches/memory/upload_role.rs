//! The child role `upload BASE_URL ACCOUNT NAMESPACE`: a process holding only kv-client, which
//! streams a 25 MiB value to the mock from a stream whose 64 KiB chunks are made on demand, and
//! reports its memory growth. It warms up with a 1 MiB stream, says `ready`, and uploads on the
//! command `go`.

use bytes::Bytes;
use edge_kv::client::{Body, Client};
use edge_kv::types::limits::MAX_VALUE_BYTES;
use futures_util::Stream;

use crate::mock_role::BIG_KEY;
use crate::{child, readings};

/// The size of each chunk of the stream.
pub(crate) const CHUNK: usize = 64 * 1024;

/// A stream of `total` bytes in chunks made only when asked for.
fn generated(total: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(0usize, move |sent| async move {
        (sent < total).then(|| {
            let n = CHUNK.min(total - sent);
            (
                Ok(Bytes::from(vec![(sent / CHUNK % 251) as u8; n])),
                sent + n,
            )
        })
    })
}

/// Runs the role.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let [base_url, account, namespace] = args else {
        return Err("usage: upload BASE_URL ACCOUNT NAMESPACE".to_owned());
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let client = Client::builder()
        .base_url(base_url)
        .account_id(account)
        .api_token("bench-token")
        .build()
        .map_err(|e| format!("kv-client: {e}"))?;
    let kv = client.namespace(namespace);
    rt.block_on(
        kv.put("warm-up", Body::stream(generated(1024 * 1024)))
            .send(),
    )
    .map_err(|e| format!("warm-up put: {e}"))?;
    child::serve_commands(&[], |command| {
        if command != "go" {
            return readings::fields();
        }
        readings::reset_peaks();
        let mut fields = readings::fields();
        for f in &mut fields {
            f.0.insert_str(0, "before_");
        }
        let put = rt.block_on(
            kv.put(BIG_KEY, Body::stream(generated(MAX_VALUE_BYTES)))
                .send(),
        );
        fields.extend(readings::fields());
        if let Err(e) = put {
            fields.push(("error".to_owned(), format!("25 MiB put: {e}")));
        }
        fields.push(("value".to_owned(), MAX_VALUE_BYTES.to_string()));
        fields
    });
    Ok(())
}
