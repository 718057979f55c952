//! The input of a bulk command: a file or stdin (`-`), read as a stream on a thread of its own
//! ([`bulk_file`](kv_types::bulk_file) finds the elements, a checker turns each into an item),
//! at most [`AHEAD`] items ahead of the sender. When `--failed` needs to read the input a second
//! time, stdin is copied to an unnamed temporary file as it is read (to disk, not memory).

use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use kv_types::bulk_file::{ArrayScanner, Element, Malformed};
use tokio::sync::mpsc;

use crate::bulk_items::{Bad, ItemError};
use crate::failure::CliError;

/// Items the reader may run ahead of the sender.
const AHEAD: usize = 256;
/// The read buffer.
const READ_BUFFER: usize = 256 * 1024;

/// What the reader thread hands over, in input order.
pub(crate) enum Msg<T> {
    /// An item ready to send: its length in bytes, and the item.
    Item { len: u64, item: T },
    /// An item that cannot be sent, and its length in bytes.
    Bad(ItemError, u64),
    /// The input is broken here; nothing follows.
    Broken(Malformed),
}

/// Where the input comes from.
pub(crate) struct Input {
    path: PathBuf,
    /// Its size, when it is a regular file.
    size: Option<u64>,
    /// The copy of stdin, when it must be read again.
    spool: Option<File>,
}

impl Input {
    /// Opens nothing yet: notes the path (`-` is stdin), its size, and whether stdin must be
    /// kept for a second reading (`replayable`).
    pub(crate) fn new(path: &Path, replayable: bool) -> Result<Input, CliError> {
        let stdin = path == Path::new("-");
        let size = if stdin {
            None
        } else {
            let meta = std::fs::metadata(path)
                .map_err(CliError::io(format!("opening {}", path.display())))?;
            meta.is_file().then_some(meta.len())
        };
        let spool = if stdin && replayable {
            Some(tempfile::tempfile().map_err(CliError::io("creating a temporary copy of stdin"))?)
        } else {
            None
        };
        Ok(Input {
            path: path.to_owned(),
            size,
            spool,
        })
    }

    /// The input's size in bytes, when known (a regular file).
    pub(crate) fn size(&self) -> Option<u64> {
        self.size
    }

    fn is_stdin(&self) -> bool {
        self.path == Path::new("-")
    }

    fn open(&self) -> Result<Box<dyn Read + Send>, CliError> {
        if !self.is_stdin() {
            let file = File::open(&self.path)
                .map_err(CliError::io(format!("opening {}", self.path.display())))?;
            return Ok(Box::new(file));
        }
        match &self.spool {
            None => Ok(Box::new(std::io::stdin())),
            Some(spool) => {
                let copy = spool
                    .try_clone()
                    .map_err(CliError::io("copying stdin to a temporary file"))?;
                Ok(Box::new(Tee {
                    from: std::io::stdin(),
                    copy,
                }))
            }
        }
    }

    /// Starts the reader thread: each element checked by `check`, in order, into the channel.
    pub(crate) fn read<T: Send + 'static>(
        &self,
        check: impl Fn(&Element) -> Result<T, Bad> + Send + 'static,
    ) -> Result<Reader<T>, CliError> {
        let input = self.open()?;
        let (tx, rx) = mpsc::channel(AHEAD);
        let thread = std::thread::spawn(move || {
            for element in ArrayScanner::new(BufReader::with_capacity(READ_BUFFER, input)) {
                let msg = match element {
                    Err(m) => Msg::Broken(m),
                    Ok(element) => match check(&element) {
                        Ok(item) => Msg::Item {
                            len: element.len,
                            item,
                        },
                        Err(Bad::Item(e)) => Msg::Bad(e, element.len),
                        Err(Bad::File(m)) => Msg::Broken(m),
                    },
                };
                let last = matches!(msg, Msg::Broken(_));
                if tx.blocking_send(msg).is_err() || last {
                    break;
                }
            }
        });
        Ok(Reader { rx, thread })
    }

    /// The input again from its start, once the reader has finished: the file, or the copy of
    /// stdin (as far as it was read).
    pub(crate) fn reopen(&self) -> Result<Box<dyn Read + Send>, CliError> {
        match &self.spool {
            None if self.is_stdin() => Err(CliError::Usage(
                "stdin cannot be read twice (no copy was kept)".into(),
            )),
            None => self.open(),
            Some(spool) => {
                let mut copy = spool
                    .try_clone()
                    .map_err(CliError::io("reading the temporary copy of stdin"))?;
                copy.rewind()
                    .map_err(CliError::io("reading the temporary copy of stdin"))?;
                Ok(Box::new(copy))
            }
        }
    }
}

/// The running reader: its channel, and its thread to wait for.
pub(crate) struct Reader<T> {
    pub(crate) rx: mpsc::Receiver<Msg<T>>,
    thread: std::thread::JoinHandle<()>,
}

impl<T> Reader<T> {
    /// Splits into the channel and a handle that waits for the thread (blocking: call it from
    /// `spawn_blocking`).
    pub(crate) fn into_parts(self) -> (mpsc::Receiver<Msg<T>>, ReaderThread) {
        (self.rx, ReaderThread(self.thread))
    }
}

/// The reader thread, to wait for before reading the input again.
pub(crate) struct ReaderThread(std::thread::JoinHandle<()>);

impl ReaderThread {
    /// Waits for the thread to end (it ends once its channel is closed).
    pub(crate) fn join(self) {
        // A panic in the reader already ended its channel; nothing more to report.
        let _ = self.0.join();
    }
}

/// Reads from `from` and writes every byte read to `copy`.
struct Tee<R> {
    from: R,
    copy: File,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.from.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}
