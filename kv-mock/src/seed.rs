//! Seeding a mock at start from files in wrangler's bulk JSON format (`--seed FILE`,
//! `--seed TITLE=FILE`, [`MockBuilder::seed`](crate::MockBuilder::seed)).
//!
//! Every file is read and checked first (streamed, one item's text in memory at a time; see
//! [`Engine::import`](crate::Engine::import)), then all of them are written, one atomic batch per
//! file: a file that cannot be opened, is malformed or holds a bad item stops the start with a
//! message naming the file, the item and the rule, and nothing of any file is loaded.

use std::path::{Path, PathBuf};

use crate::engine::Engine;
use crate::error::{EngineError, MockError};

/// Bytes read from a seed file at a time.
const READ_BUFFER: usize = 1024 * 1024;

/// One `--seed` argument: a file, and the title of the namespace it fills (`None`: the default
/// namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedSpec {
    /// The namespace's title; `None` for the default namespace.
    pub title: Option<String>,
    /// The file.
    pub file: PathBuf,
}

impl std::str::FromStr for SeedSpec {
    type Err = std::convert::Infallible;

    /// `FILE` or `TITLE=FILE`. An argument that is the path of an existing file is a `FILE`
    /// even if it holds a `=`; otherwise the text before the first `=` is the title.
    fn from_str(arg: &str) -> Result<SeedSpec, Self::Err> {
        let whole = SeedSpec {
            title: None,
            file: PathBuf::from(arg),
        };
        if Path::new(arg).is_file() {
            return Ok(whole);
        }
        Ok(match arg.split_once('=') {
            Some((title, file)) if !title.is_empty() && !file.is_empty() => SeedSpec {
                title: Some(title.to_owned()),
                file: PathBuf::from(file),
            },
            _ => whole,
        })
    }
}

/// Loads `seeds`, each `(namespace id, file)`, into `engine`: all of them, or nothing. Blocks
/// on file I/O (and on the database with a persistent storage): call it off the async workers.
pub(crate) fn load(engine: &Engine, seeds: &[(String, PathBuf)]) -> Result<(), MockError> {
    let failed = |file: &Path, source: EngineError| MockError::Seed {
        file: file.to_owned(),
        source,
    };
    let mut checked = Vec::with_capacity(seeds.len());
    for (id, file) in seeds {
        let ns = engine
            .namespace(id)
            .ok_or(EngineError::NamespaceNotFound { op: "seed" })
            .map_err(|e| failed(file, e))?;
        let opened = std::fs::File::open(file).map_err(|source| MockError::SeedFile {
            file: file.clone(),
            source,
        })?;
        let input = std::io::BufReader::with_capacity(READ_BUFFER, opened);
        let items = ns.check_import(input).map_err(|e| failed(file, e))?;
        checked.push((ns, file, items));
    }
    for (ns, file, items) in checked {
        let count = ns.write_import(items).map_err(|e| failed(file, e))?;
        tracing::info!(file = %file.display(), namespace = %ns.title(), keys = count, "kv-mock seeded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_or_title_and_file() {
        let spec: SeedSpec = "data.json".parse().expect("infallible");
        assert_eq!(
            spec,
            SeedSpec {
                title: None,
                file: "data.json".into()
            }
        );
        let spec: SeedSpec = "cache=dir/a=b.json".parse().expect("infallible");
        assert_eq!(
            spec,
            SeedSpec {
                title: Some("cache".into()),
                file: "dir/a=b.json".into()
            }
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let odd = dir.path().join("x=y.json");
        std::fs::write(&odd, "[]").expect("write");
        let arg = odd.to_str().expect("utf-8 path");
        let spec: SeedSpec = arg.parse().expect("infallible");
        assert_eq!(
            spec,
            SeedSpec {
                title: None,
                file: odd.clone()
            },
            "an existing file wins"
        );
        let spec: SeedSpec = "=x".parse().expect("infallible");
        assert_eq!(spec.title, None);
    }
}
