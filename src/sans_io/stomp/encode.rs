//! STOMP 1.2 encoder: frames to bytes.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::frame::{Command, Frame};

/// A heart-beat as the client sends it: one bare EOL.
pub const HEARTBEAT_EOL: &[u8] = b"\n";

/// Why a frame cannot be written as valid STOMP 1.2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A header has an empty name, which the grammar does not allow.
    #[error("{command} frame has a header with an empty name")]
    EmptyHeaderName {
        /// The frame's command.
        command: Command,
    },
    /// CONNECT, STOMP and CONNECTED headers go out unescaped, so some characters
    /// cannot be represented in them.
    #[error("{command} headers are not escaped, so header {} cannot contain {what}", crate::sans_io::text::Quoted(.name))]
    Unescapable {
        /// The frame's command.
        command: Command,
        /// The offending header's name.
        name: String,
        /// What it contains, e.g. "a line feed".
        what: &'static str,
    },
    /// The command may not carry a body (only SEND, MESSAGE and ERROR may).
    #[error("{command} frames cannot have a body (got {len} bytes)")]
    BodyNotAllowed {
        /// The frame's command.
        command: Command,
        /// Length of the body that was given.
        len: usize,
    },
}

/// Appends `frame` to `out` in wire format, NUL included.
///
/// Any `content-length` header in `frame` is dropped and, for a non-empty body, the
/// correct one is written after the other headers, so the body is always binary-safe.
///
/// # Errors
///
/// An [`EncodeError`] if the frame cannot be written as valid STOMP 1.2; `out` is then
/// left as it was.
///
/// # Example
///
/// ```
/// use burrow::stomp::{encode, Command, EncodeError, Frame};
///
/// let mut out = Vec::new();
/// let ack = Frame::new(Command::Ack).with_header("id", "T-1");
/// encode(&ack, &mut out)?;
/// assert_eq!(out, b"ACK\nid:T-1\n\n\0");
///
/// // Only SEND, MESSAGE and ERROR carry a body; `out` is left as it was.
/// let wrong = Frame::new(Command::Ack).with_body("x");
/// assert_eq!(encode(&wrong, &mut out), Err(EncodeError::BodyNotAllowed { command: Command::Ack, len: 1 }));
/// assert_eq!(out, b"ACK\nid:T-1\n\n\0");
/// # Ok::<(), EncodeError>(())
/// ```
pub fn encode(frame: &Frame, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let command = frame.command;
    if !frame.body.is_empty() && !command.allows_body() {
        return Err(EncodeError::BodyNotAllowed { command, len: frame.body.len() });
    }
    let start = out.len();
    out.reserve(size_hint(frame));
    out.extend_from_slice(command.as_str().as_bytes());
    out.push(b'\n');
    let escapes = command.escapes_headers();
    for (name, value) in &frame.headers {
        if name == "content-length" {
            continue;
        }
        let written = if escapes {
            write_escaped_header(command, name, value, out)
        } else {
            write_raw_header(command, name, value, out)
        };
        if let Err(error) = written {
            out.truncate(start);
            return Err(error);
        }
    }
    if !frame.body.is_empty() {
        out.extend_from_slice(b"content-length:");
        push_decimal(frame.body.len(), out);
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(&frame.body);
    out.push(0);
    Ok(())
}

/// [`encode`] into a new buffer.
///
/// # Errors
///
/// As for [`encode`].
pub fn encode_to_vec(frame: &Frame) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(size_hint(frame));
    encode(frame, &mut out)?;
    Ok(out)
}

/// Bytes needed when nothing has to be escaped; a good first allocation.
fn size_hint(frame: &Frame) -> usize {
    let headers: usize = frame.headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    // command + LF, content-length line (at most 36 bytes), blank line, body, NUL.
    frame.command.as_str().len() + 1 + headers + 36 + 1 + frame.body.len() + 1
}

fn write_escaped_header(
    command: Command,
    name: &str,
    value: &str,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if name.is_empty() {
        return Err(EncodeError::EmptyHeaderName { command });
    }
    push_escaped(name, out);
    out.push(b':');
    push_escaped(value, out);
    out.push(b'\n');
    Ok(())
}

fn write_raw_header(
    command: Command,
    name: &str,
    value: &str,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    if name.is_empty() {
        return Err(EncodeError::EmptyHeaderName { command });
    }
    let refuse = |what| Err(EncodeError::Unescapable { command, name: name.to_owned(), what });
    // A colon in the value is fine: the reader splits at the first one.
    if name.contains(':') {
        return refuse("a colon in its name");
    }
    if name.contains('\n') || value.contains('\n') {
        return refuse("a line feed");
    }
    if name.contains('\r') || value.contains('\r') {
        return refuse("a carriage return");
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    out.extend_from_slice(value.as_bytes());
    out.push(b'\n');
    Ok(())
}

/// Writes `text` with STOMP 1.2's four escapes, copying runs of plain bytes at once.
/// The bytes STOMP 1.2 escapes in a header, each as two bytes.
fn needs_escape(byte: u8) -> bool {
    matches!(byte, b'\\' | b'\r' | b'\n' | b':')
}

/// How many bytes `text` takes in a header once escaped.
pub fn escaped_len(text: &str) -> usize {
    text.len() + text.bytes().filter(|&b| needs_escape(b)).count()
}

fn push_escaped(text: &str, out: &mut Vec<u8>) {
    let mut rest = text.as_bytes();
    while let Some(i) = rest.iter().position(|&b| needs_escape(b)) {
        let (plain, tail) = rest.split_at(i);
        out.extend_from_slice(plain);
        let Some((&special, tail)) = tail.split_first() else { break };
        out.extend_from_slice(match special {
            b'\r' => b"\\r",
            b'\n' => b"\\n",
            b':' => b"\\c",
            _ => b"\\\\",
        });
        rest = tail;
    }
    out.extend_from_slice(rest);
}

/// `n` in decimal, without the allocation of `to_string`.
fn push_decimal(mut n: usize, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}
