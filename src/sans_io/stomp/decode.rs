//! Streaming STOMP 1.2 decoder: push bytes as they arrive, pull frames and heart-beats.

// Input comes from the network: nothing in here may panic on it.
#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::CStr;
use std::mem;
use std::ops::Range;

use super::frame::{Command, Frame};
use crate::sans_io::text::{parse_u64, Quoted};

/// Buffer capacity kept between frames; anything above is returned to the allocator.
const KEEP_CAPACITY: usize = 1024 * 1024;

/// Bounds on what the [`Decoder`] accepts, so a broken or hostile peer cannot make it
/// buffer without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most headers one frame may carry.
    pub max_headers: usize,
    /// Longest command or header line, in bytes, not counting its EOL.
    pub max_header_line: usize,
    /// Largest body, in bytes.
    pub max_body: usize,
}

impl Default for Limits {
    /// What RabbitMQ with default settings delivers, so a message another client
    /// published never cuts a consumer off: 65,536 headers and 1 MiB a line (an AMQP
    /// publisher's header table fits its 128 KiB `frame_max`, and escaping at most
    /// doubles it; STOMP publishers are checked by
    /// [`crate::rabbit::check_round_trip_headers`]), and a 128 MiB body (RabbitMQ
    /// 3.10.8's `max_message_size`; 4.x's is 16 MiB). The browser has already
    /// buffered a WebSocket message whole, so these bound the decoder's copies of it,
    /// not what a peer can make a tab hold.
    fn default() -> Self {
        Limits { max_headers: 64 * 1024, max_header_line: 1024 * 1024, max_body: 128 * 1024 * 1024 }
    }
}

/// One item read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete frame.
    Frame(Frame),
    /// A heart-beat: a bare EOL (LF or CRLF) between frames.
    HeartBeat,
}

/// Why the input is not valid STOMP 1.2. After any of these the [`Decoder`] is poisoned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The command line is not one of the STOMP 1.2 commands.
    #[error("unknown command {}", Quoted(.0))]
    UnknownCommand(String),
    /// A header line has no `:` between name and value.
    #[error("header line without a colon: {}", Quoted(.0))]
    MissingColon(String),
    /// A header line starts with `:`, so its name is empty.
    #[error("header line with an empty name: {}", Quoted(.0))]
    EmptyHeaderName(String),
    /// The command or a header name is not valid UTF-8 (a header value's invalid
    /// bytes are read as U+FFFD instead).
    #[error("the {0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// A backslash in a header is followed by something other than `r`, `n`, `c` or `\`.
    #[error("undefined escape sequence {} in a header", Quoted(.0))]
    UndefinedEscape(String),
    /// The frame has more headers than [`Limits::max_headers`].
    #[error("frame has more than {limit} headers")]
    TooManyHeaders {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A command or header line is longer than [`Limits::max_header_line`].
    #[error("command or header line is longer than {limit} bytes")]
    HeaderLineTooLong {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The body is larger than [`Limits::max_body`].
    #[error("frame body of {size} bytes (or more) is larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// The limit that was exceeded.
        limit: usize,
        /// The declared `content-length`, or the bytes buffered so far without a NUL.
        size: usize,
    },
    /// The `content-length` header is not a plain decimal byte count.
    #[error("content-length {} is not a decimal byte count", Quoted(.0))]
    BadContentLength(String),
    /// The byte right after a `content-length` body is not the NUL that ends a frame.
    #[error("no NUL byte where content-length says the body ends")]
    MissingNul,
    /// An earlier call already failed; the stream cannot be resynchronised.
    #[error("the decoder failed earlier and accepts no more input")]
    Poisoned,
}

/// Where the decoder is within the byte stream.
enum State {
    /// Between frames: EOLs here are heart-beats, anything else starts a command line.
    Idle,
    /// Reading header lines until the blank line.
    Headers(Partial),
    /// Reading the body until its NUL.
    Body(Partial),
}

/// A frame whose command and (some) headers have been read.
struct Partial {
    command: Command,
    headers: Vec<(String, String)>,
    /// From the first `content-length` header, which is the one that counts.
    content_length: Option<usize>,
}

/// Incremental STOMP 1.2 decoder.
///
/// Feed it bytes with [`push`](Decoder::push) in whatever pieces they arrive, then call
/// [`next_item`](Decoder::next_item) until it returns `Ok(None)`. Each byte is searched
/// once: an incomplete line or body remembers how far it was scanned, and consumed
/// bytes are dropped from the front of the buffer once they make up half of it.
///
/// ```
/// use burrow::stomp::{Decoded, Decoder, Limits};
///
/// let mut decoder = Decoder::new(Limits::default());
/// decoder.push(b"\nRECEIPT\nreceipt-id:7");
/// assert_eq!(decoder.next_item(), Ok(Some(Decoded::HeartBeat)));
/// assert_eq!(decoder.next_item(), Ok(None));
/// decoder.push(b"\n\n\0");
/// let Ok(Some(Decoded::Frame(frame))) = decoder.next_item() else { unreachable!() };
/// assert_eq!(frame.header("receipt-id"), Some("7"));
/// ```
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    /// Start of the bytes not yet consumed.
    pos: usize,
    /// `buf[pos..scan]` has already been searched for the delimiter currently sought.
    scan: usize,
    state: State,
    poisoned: bool,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("limits", &self.limits)
            .field("buffered", &self.buffered())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    /// A decoder with [`Limits::default`].
    fn default() -> Self {
        Decoder::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Decoder { limits, buf: Vec::new(), pos: 0, scan: 0, state: State::Idle, poisoned: false }
    }

    /// Appends bytes received from the peer. Ignored once the decoder is poisoned.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.poisoned {
            return;
        }
        // Compact only when the consumed prefix is at least half the buffer, so each
        // byte is moved a bounded number of times however the input is split.
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.scan -= self.pos;
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes pushed but not yet parsed (headers already parsed of an unfinished frame
    /// are not counted).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next frame or heart-beat, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the input breaks STOMP 1.2 or the [`Limits`]. The decoder
    /// is then poisoned: it drops its buffer and every later call returns
    /// [`DecodeError::Poisoned`].
    pub fn next_item(&mut self) -> Result<Option<Decoded>, DecodeError> {
        if self.poisoned {
            return Err(DecodeError::Poisoned);
        }
        let result = self.step();
        if result.is_err() {
            self.poisoned = true;
            self.buf = Vec::new();
            self.pos = 0;
            self.scan = 0;
            self.state = State::Idle;
        } else if self.pos == self.buf.len() {
            // Everything consumed: restart at the front, and give back the memory of an
            // unusually large frame rather than hold it for the rest of the session.
            self.buf.clear();
            self.buf.shrink_to(KEEP_CAPACITY);
            self.pos = 0;
            self.scan = 0;
        }
        result
    }

    fn step(&mut self) -> Result<Option<Decoded>, DecodeError> {
        loop {
            match mem::replace(&mut self.state, State::Idle) {
                State::Idle => {
                    let Some(line) = self.take_line()? else { return Ok(None) };
                    if line.is_empty() {
                        return Ok(Some(Decoded::HeartBeat));
                    }
                    let command = parse_command(self.slice(line))?;
                    self.state = State::Headers(Partial {
                        command,
                        // Enough for a typical RabbitMQ MESSAGE without regrowing.
                        headers: Vec::with_capacity(8),
                        content_length: None,
                    });
                }
                State::Headers(mut partial) => {
                    let Some(line) = self.take_line()? else {
                        self.state = State::Headers(partial);
                        return Ok(None);
                    };
                    if line.is_empty() {
                        self.state = State::Body(partial);
                        continue;
                    }
                    if partial.headers.len() >= self.limits.max_headers {
                        return Err(DecodeError::TooManyHeaders { limit: self.limits.max_headers });
                    }
                    let (name, value) =
                        parse_header(self.slice(line), partial.command.escapes_headers())?;
                    if name == "content-length" && partial.content_length.is_none() {
                        let len = parse_content_length(&value)?;
                        // Refuse now rather than buffer a body we will reject anyway.
                        if len > self.limits.max_body {
                            return Err(DecodeError::BodyTooLarge {
                                limit: self.limits.max_body,
                                size: len,
                            });
                        }
                        partial.content_length = Some(len);
                    }
                    partial.headers.push((name, value));
                    self.state = State::Headers(partial);
                }
                State::Body(partial) => {
                    let Some(body) = self.take_body(partial.content_length)? else {
                        self.state = State::Body(partial);
                        return Ok(None);
                    };
                    let frame = Frame { command: partial.command, headers: partial.headers, body };
                    return Ok(Some(Decoded::Frame(frame)));
                }
            }
        }
    }

    /// `buf[range]`; the ranges come from this decoder's own scans, so they are in bounds.
    fn slice(&self, range: Range<usize>) -> &[u8] {
        self.buf.get(range).unwrap_or_default()
    }

    /// Consumes one line and returns its range without the EOL (LF or CRLF), or `None`
    /// if no LF has arrived yet.
    fn take_line(&mut self) -> Result<Option<Range<usize>>, DecodeError> {
        let limit = self.limits.max_header_line;
        let start = self.pos;
        let unsearched = self.buf.get(self.scan..).unwrap_or_default();
        let Some(offset) = unsearched.iter().position(|&b| b == b'\n') else {
            self.scan = self.buf.len();
            // A trailing CR may be the first half of a CRLF, so it does not count yet.
            let pending = self.slice(start..self.buf.len());
            let content = pending.strip_suffix(b"\r").unwrap_or(pending).len();
            if content > limit {
                return Err(DecodeError::HeaderLineTooLong { limit });
            }
            return Ok(None);
        };
        let lf = self.scan + offset;
        let end = if lf > start && self.buf.get(lf - 1) == Some(&b'\r') { lf - 1 } else { lf };
        if end - start > limit {
            return Err(DecodeError::HeaderLineTooLong { limit });
        }
        self.pos = lf + 1;
        self.scan = self.pos;
        Ok(Some(start..end))
    }

    /// Consumes the body and its NUL, or returns `None` if they have not all arrived.
    fn take_body(&mut self, content_length: Option<usize>) -> Result<Option<Vec<u8>>, DecodeError> {
        let limit = self.limits.max_body;
        let start = self.pos;
        let end = match content_length {
            Some(len) => {
                let end = start.saturating_add(len);
                match self.buf.get(end) {
                    None => return Ok(None),
                    Some(0) => end,
                    Some(_) => return Err(DecodeError::MissingNul),
                }
            }
            None => {
                let unsearched = self.buf.get(self.scan..).unwrap_or_default();
                // `CStr` finds the NUL with core's word-at-a-time memchr, much faster
                // than a byte loop on large bodies.
                let nul = CStr::from_bytes_until_nul(unsearched).ok().map(|c| c.count_bytes());
                match nul {
                    Some(offset) => self.scan + offset,
                    None => {
                        self.scan = self.buf.len();
                        let size = self.buf.len() - start;
                        if size > limit {
                            return Err(DecodeError::BodyTooLarge { limit, size });
                        }
                        return Ok(None);
                    }
                }
            }
        };
        if end - start > limit {
            return Err(DecodeError::BodyTooLarge { limit, size: end - start });
        }
        let body = self.slice(start..end).to_vec();
        self.pos = end + 1;
        self.scan = self.pos;
        Ok(Some(body))
    }
}

fn parse_command(line: &[u8]) -> Result<Command, DecodeError> {
    if let Some(command) = Command::from_bytes(line) {
        return Ok(command);
    }
    match std::str::from_utf8(line) {
        Ok(text) => Err(DecodeError::UnknownCommand(preview(text.as_bytes()))),
        Err(_) => Err(DecodeError::InvalidUtf8("command")),
    }
}

fn parse_header(line: &[u8], escaped: bool) -> Result<(String, String), DecodeError> {
    // Escaped colons are written `\c`, so the first raw colon always ends the name.
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(DecodeError::MissingColon(preview(line)));
    };
    let (name, value) = line.split_at(colon);
    let value = value.get(1..).unwrap_or_default();
    if name.is_empty() {
        return Err(DecodeError::EmptyHeaderName(preview(line)));
    }
    let (name, value) =
        if escaped { (unescape(name)?, unescape(value)?) } else { (name.to_vec(), value.to_vec()) };
    let name = String::from_utf8(name).map_err(|_| DecodeError::InvalidUtf8("header name"))?;
    // RabbitMQ copies an AMQP header's long string as it is, and AMQP clients put
    // binary there (.NET's `byte[]`): refusing it cut every consumer of the message
    // off at each delivery. Such bytes become U+FFFD, as a browser's TextDecoder
    // (stompjs) reads them.
    let value = match String::from_utf8(value) {
        Ok(value) => value,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    };
    Ok((name, value))
}

/// Undoes the four escapes STOMP 1.2 defines; any other is an error, as the spec demands.
fn unescape(raw: &[u8]) -> Result<Vec<u8>, DecodeError> {
    // Most headers contain no escapes: copy those in one go.
    if !raw.contains(&b'\\') {
        return Ok(raw.to_vec());
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b'c') => out.push(b':'),
            Some(b'\\') => out.push(b'\\'),
            Some(&other) => {
                let shown = if other.is_ascii() {
                    format!("\\{}", char::from(other))
                } else {
                    format!("\\x{other:02x}")
                };
                return Err(DecodeError::UndefinedEscape(shown));
            }
            None => return Err(DecodeError::UndefinedEscape("\\".to_owned())),
        }
    }
    Ok(out)
}

fn parse_content_length(value: &str) -> Result<usize, DecodeError> {
    // `usize::from_str` would also take a leading `+`; the spec means plain digits.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecodeError::BadContentLength(preview(value.as_bytes())));
    }
    parse_u64(value)
        .and_then(|length| usize::try_from(length).ok())
        .ok_or_else(|| DecodeError::BadContentLength(preview(value.as_bytes())))
}

/// The start of some offending input, for an error message that stays short.
fn preview(bytes: &[u8]) -> String {
    const MAX: usize = 64;
    let cut = bytes.get(..MAX).unwrap_or(bytes);
    let mut text = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < bytes.len() {
        text.push('…');
    }
    text
}
