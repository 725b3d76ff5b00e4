//! What the native tests of the RabbitMQ mapping share: a channel on a session
//! that has already been CONNECTED, and the frames it has queued since.
#![allow(dead_code)]

use std::time::Duration;

use burrow::client::{ConnectOptions, Session, Transmit};
use burrow::rabbit::Channel;
use burrow::stomp::{Command, Frame};

/// The time the tests' calls bring (the session counts heart-beats from it).
pub const NOW: Duration = Duration::from_millis(10);

/// A channel on a session past CONNECTED, with nothing left to send or report.
pub fn connected_channel() -> Channel {
    let mut session = Session::new(ConnectOptions::new("/"));
    session.connect(Duration::ZERO);
    session.handle_frame(Duration::ZERO, Frame::new(Command::Connected).with_header("version", "1.2"));
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    Channel::new(session)
}

/// As [`connected_channel`], on a broker whose CONNECTED says `server`.
pub fn channel_on(server: &str) -> Channel {
    let mut session = Session::new(ConnectOptions::new("/"));
    session.connect(Duration::ZERO);
    let connected = Frame::new(Command::Connected).with_header("version", "1.2").with_header("server", server);
    session.handle_frame(Duration::ZERO, connected);
    while session.poll_transmit().is_some() {}
    while session.poll_event().is_some() {}
    Channel::new(session)
}

/// The frames the channel queued to send (heart-beats left out).
pub fn sent_frames(channel: &mut Channel) -> Vec<Frame> {
    std::iter::from_fn(|| channel.session_mut().poll_transmit())
        .filter_map(|t| match t {
            Transmit::Frame(f) => Some(f),
            Transmit::HeartBeat => None,
        })
        .collect()
}
