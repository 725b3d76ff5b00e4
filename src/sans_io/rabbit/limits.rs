//! How large a publish RabbitMQ 3.10.8 takes over Web-STOMP, checked before sending.
//!
//! What the 3.10.8 source shows (tag `v3.10.8` of rabbitmq-server):
//! - `deps/rabbitmq_web_stomp` sets no frame limit. Its `Makefile` defaults
//!   `cowboy_opts` to `[]` and sets no `cowboy_ws_opts`; `rabbit_web_stomp_listener.erl`
//!   passes `get_env(cowboy_ws_opts, [])` as the WebSocket options and
//!   `rabbit_web_stomp_handler.erl` only adds `compress => true`. The optional
//!   `web_stomp.ws_opts.max_frame_size` (`priv/schema/rabbitmq_web_stomp.schema`) is
//!   unset by default, and cowboy (2.8.0, `rabbitmq-components.mk`) then reads
//!   `maps:get(max_frame_size, Opts, infinity)` in `cowboy_websocket.erl`.
//! - `deps/rabbitmq_stomp`'s frame parser (`rabbit_stomp_frame.erl`) has no size limit
//!   either, and its `Makefile` has no `max_frame_size` setting (the
//!   `stomp.max_frame_size` setting only appears in later releases).
//! - The limit that does apply is the broker's: the STOMP adapter publishes through
//!   an AMQP channel, and `rabbit_channel:check_msg_size/3` refuses a body larger than
//!   `max_message_size` with `PRECONDITION_FAILED` ("message size N is larger than max
//!   size M"). Its default is `134217728` bytes (128 MiB, `deps/rabbit/Makefile`),
//!   configurable up to 512 MiB (`?MAX_MSG_SIZE` in `rabbit_common/include/rabbit.hrl`).
//!   Over Web-STOMP that refusal closes the socket, often without the ERROR frame.
//!
//! So [`WEB_STOMP_MAX_FRAME`] is that 128 MiB. The check counts the whole encoded
//! frame (command, headers, body), which is never less than the body the broker counts,
//! so it errs on the side of refusing. RabbitMQ 4.x lowered `max_message_size`'s
//! default to 16 MiB (4.0.5's `rabbit.app`: `16777216`), and [`PUBLISH_MAX_FRAME`],
//! the default, keeps to what both take. Burrow's own decoder reads bodies up to
//! 128 MiB by default ([`crate::stomp::Limits`]): whatever another client published.

#![warn(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{publish_destination, BasicProperties};
use crate::stomp::{encode_to_vec, escaped_len, Command, Frame, Limits};

/// The largest SEND frame, in bytes, RabbitMQ 3.10.8's Web-STOMP takes with default
/// settings: 128 MiB, the broker's default `max_message_size` (rabbitmq-server
/// `v3.10.8`, `deps/rabbit/Makefile`; enforced on the body by
/// `deps/rabbit/src/rabbit_channel.erl`, `check_msg_size/3`).
///
/// Web-STOMP and the STOMP parser add no lower limit of their own: in
/// `deps/rabbitmq_web_stomp` no `cowboy_ws_opts` are set by default (so cowboy's
/// WebSocket `max_frame_size` stays `infinity`), and `deps/rabbitmq_stomp/src/rabbit_stomp_frame.erl`
/// parses frames of any size. A broker configured otherwise needs its own limit passed
/// to [`check_publish_size`].
pub const WEB_STOMP_MAX_FRAME: usize = 134_217_728;

/// The default largest SEND frame: 16 MiB, RabbitMQ 4.x's default `max_message_size`
/// (4.0.5's `rabbit.app`), which 3.10.8 (128 MiB) takes too. A larger limit for a
/// broker configured for it goes to [`check_publish_size`].
pub const PUBLISH_MAX_FRAME: usize = 16 * 1024 * 1024;

/// What the session adds to a confirmed SEND: a `receipt:receipt-<u64>` line.
const RECEIPT_ALLOWANCE: usize = "receipt:receipt-\n".len() + 20;

/// A publish too large for the broker, refused before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message would make a {size}-byte frame, over the limit of {limit} bytes (publishing to {destination}); nothing was sent")]
pub struct FrameTooLarge {
    /// Where it was to go.
    pub destination: String,
    /// The encoded frame's size, headers included.
    pub size: usize,
    /// The limit it exceeds.
    pub limit: usize,
}

/// The size of the SEND frame for `destination`, `headers` and a body of `body_len`
/// bytes, plus a receipt header: an upper bound on what goes on the wire.
pub fn publish_frame_size(destination: &str, headers: &[(String, String)], body_len: usize) -> usize {
    let mut frame = Frame::new(Command::Send).with_header("destination", destination);
    frame.headers.extend(headers.iter().cloned());
    // Measured with an empty body so a large body is not copied; the encoder
    // writes the same headers either way, only `content-length` depends on it.
    let head = match encode_to_vec(&frame) {
        Ok(bytes) => bytes.len(),
        // The encoder refuses this frame anyway; count as if every byte were escaped.
        Err(_) => frame.headers.iter().map(|(n, v)| 2 * (n.len() + v.len()) + 2).sum::<usize>() + 7,
    };
    let content_length = if body_len == 0 { 0 } else { "content-length:\n".len() + decimal_digits(body_len) };
    head.saturating_add(RECEIPT_ALLOWANCE).saturating_add(content_length).saturating_add(body_len)
}

/// Refuses a publish whose encoded SEND frame would exceed `limit` bytes (usually
/// [`WEB_STOMP_MAX_FRAME`]), before it is sent: RabbitMQ would otherwise close the
/// connection, dropping everything else in flight.
///
/// # Errors
///
/// [`FrameTooLarge`] with the frame's size and the limit.
pub fn check_publish_size(
    destination: &str,
    headers: &[(String, String)],
    body_len: usize,
    limit: usize,
) -> Result<(), FrameTooLarge> {
    let size = publish_frame_size(destination, headers, body_len);
    if size > limit {
        return Err(FrameTooLarge { destination: destination.to_owned(), size, limit });
    }
    Ok(())
}

/// [`check_publish_size`] for what [`super::Channel::basic_publish`] would send.
///
/// Properties the channel refuses (a reserved application header) are not counted:
/// `basic_publish` refuses that message before anything is sent.
///
/// # Errors
///
/// [`FrameTooLarge`] with the frame's size and the limit.
pub fn check_basic_publish(
    exchange: &str,
    routing_key: &str,
    body_len: usize,
    properties: &BasicProperties,
    limit: usize,
) -> Result<(), FrameTooLarge> {
    let destination = publish_destination(exchange, routing_key);
    let headers = properties.to_headers().unwrap_or_default();
    check_publish_size(&destination, &headers, body_len, limit)
}

/// Headers RabbitMQ puts on a MESSAGE besides the SEND's own (subscription,
/// destination, message-id, redelivered, ack, content-length, and what its STOMP
/// adapter copies over, such as receipt): room kept under the decoder's count.
pub const BROKER_HEADERS: usize = 16;

/// A publish whose headers Burrow's own decoder would refuse when the message
/// comes back ([`Limits::default`]: 65,536 headers, 1 MiB a line): every Burrow
/// consumer of it would lose its connection to it, again after each reconnect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the message's headers could not be read back: {what}, over the {limit} a consumer takes; nothing was sent")]
pub struct HeadersTooLarge {
    /// What is over, in words.
    pub what: String,
    /// The limit it exceeds.
    pub limit: usize,
}

/// Refuses SEND `headers` that would come back on a MESSAGE over the decoder's
/// default limits, with [`BROKER_HEADERS`] more and each line escaped.
///
/// # Errors
///
/// [`HeadersTooLarge`]: too many headers, or one too long.
pub fn check_round_trip_headers(headers: &[(String, String)]) -> Result<(), HeadersTooLarge> {
    let limits = Limits::default();
    let most = limits.max_headers.saturating_sub(BROKER_HEADERS);
    if headers.len() > most {
        return Err(HeadersTooLarge { what: format!("{} headers", headers.len()), limit: most });
    }
    for (name, value) in headers {
        // A MESSAGE's headers come escaped, as a SEND's go.
        let line = escaped_len(name) + 1 + escaped_len(value);
        if line > limits.max_header_line {
            let what = format!("header {} takes {line} bytes", crate::sans_io::text::Quoted(name));
            return Err(HeadersTooLarge { what, limit: limits.max_header_line });
        }
    }
    Ok(())
}

fn decimal_digits(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}
