//! Every error wraps its cause as `source()`, and reasons are types: a caller can
//! walk the chain and match on what went wrong instead of parsing words.

use std::error::Error;
use std::time::Duration;

use burrow::client::{ClientError, CloseReason, NotConnected, ProtocolError, ServerError, SocketClose};
use burrow::rabbit::{OutboxError, RabbitError, Refusal};
use burrow::reliable::{AckError, DeclareError, PublishError, StopReason};
use burrow::stomp::DecodeError;

/// The chain of `error`'s sources, as their words.
fn chain(error: &(dyn Error + 'static)) -> Vec<String> {
    let mut words = Vec::new();
    let mut next = error.source();
    while let Some(cause) = next {
        words.push(cause.to_string());
        next = cause.source();
    }
    words
}

fn refused() -> ServerError {
    ServerError {
        message: Some("NOT_FOUND".into()),
        body: "NOT_FOUND - no exchange 'x' in vhost '/'".into(),
        receipt_id: None,
        headers: vec![],
    }
}

#[test]
fn a_malformed_frame_is_typed_down_to_the_decoder() {
    let reason = CloseReason::Protocol(ProtocolError::Decode(DecodeError::MissingColon("oops".into())));
    assert_eq!(reason.to_string(), "the broker sent a malformed frame: header line without a colon: \"oops\"");
    let source = reason.source().and_then(|s| s.downcast_ref::<ProtocolError>());
    assert_eq!(source, Some(&ProtocolError::Decode(DecodeError::MissingColon("oops".into()))));
    assert_eq!(chain(&reason).len(), 2, "protocol error, then the decoder's: {:?}", chain(&reason));
}

#[test]
fn wrapping_errors_name_their_cause() {
    let closed = CloseReason::Socket(SocketClose::new(1006, ""));
    let not_connected = ClientError::NotConnected(NotConnected::Closed(closed.clone()));
    assert_eq!(chain(&not_connected).len(), 3, "{:?}", chain(&not_connected));
    let cases: Vec<Box<dyn Error>> = vec![
        Box::new(RabbitError::Client(ClientError::MissingReceipt)),
        Box::new(RabbitError::Refused(Refusal::from_server_error(&refused()))),
        Box::new(RabbitError::Outbox(OutboxError::Full { capacity: 1 })),
        Box::new(PublishError::Invalid(RabbitError::EmptyQueueName)),
        Box::new(PublishError::Full(OutboxError::Full { capacity: 1 })),
        Box::new(PublishError::Refused(Refusal::from_server_error(&refused()))),
        Box::new(DeclareError::Closed(closed.clone())),
        Box::new(AckError::Client(ClientError::MissingReceipt)),
        Box::new(CloseReason::ServerError(refused())),
        Box::new(StopReason::Refused(CloseReason::ConnectRefused(refused()))),
    ];
    for error in cases {
        assert!(error.source().is_some(), "{error} has no source");
    }
    assert!(CloseReason::HeartBeatTimeout { silent_for: Duration::from_secs(20), interval: Duration::from_secs(10) }
        .source()
        .is_none());
}
