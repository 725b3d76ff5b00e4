//! RPC's side of the driver: [`ReliableConnection::call`] awaits the core's
//! [`ReliableEvent::CallDone`](crate::reliable::ReliableEvent::CallDone) for its
//! call; [`ReliableConnection::reply`] publishes to a request's `reply_to`. What
//! is routed where, what times out and what a dropped connection does to a call
//! are the core's decisions (`sans_io::core::rpc`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::oneshot;

use super::publish::ConfirmSink;
use super::{pending, pump, Driver, PublishConfirm, ReliableConnection};
use crate::rabbit::{BasicProperties, Delivery};
use crate::sans_io::core::{CallError, CallId, PublishError, ReplyError};
use crate::transport::now;

/// Where a call's outcome goes.
pub(super) enum CallSink {
    /// [`ReliableConnection::call`]'s future awaits it.
    Future(oneshot::Sender<Result<Delivery, CallError>>),
    /// Called with it, once.
    Callback(Box<dyn FnOnce(Result<Delivery, CallError>)>),
}

impl CallSink {
    pub(super) fn settle(self, outcome: Result<Delivery, CallError>) {
        match self {
            CallSink::Future(tx) => {
                let _ = tx.send(outcome);
            }
            CallSink::Callback(then) => then(outcome),
        }
    }
}

/// A call's reply: a future made by [`ReliableConnection::call`], resolving with
/// the reply or why none came. It borrows nothing; the request is in line as
/// soon as it is made. Dropped before its reply, the call is forgotten (a reply
/// that still comes is counted as unmatched; a request still waiting for room
/// is withdrawn).
#[derive(Debug)]
#[must_use = "the reply comes through this future"]
pub struct CallReply {
    state: CallState,
}

#[derive(Debug)]
enum CallState {
    Refused(Option<CallError>),
    Waiting { call: CallId, rx: oneshot::Receiver<Result<Delivery, CallError>>, shared: Weak<RefCell<Driver>> },
    Done,
}

impl CallReply {
    /// Which call it is, as the core numbers them (`None` when refused at once).
    pub fn id(&self) -> Option<CallId> {
        match &self.state {
            CallState::Waiting { call, .. } => Some(*call),
            _ => None,
        }
    }
}

impl Future for CallReply {
    type Output = Result<Delivery, CallError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match &mut self.state {
            CallState::Refused(error) => Err(error.take().unwrap_or(CallError::Stopped)),
            CallState::Waiting { rx, .. } => match Pin::new(rx).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => outcome.unwrap_or(Err(CallError::Stopped)),
            },
            CallState::Done => Err(CallError::Stopped),
        };
        self.state = CallState::Done;
        Poll::Ready(outcome)
    }
}

impl Drop for CallReply {
    fn drop(&mut self) {
        let CallState::Waiting { call, shared, .. } = &self.state else { return };
        let Some(shared) = shared.upgrade() else { return };
        if let Ok(mut driver) = shared.try_borrow_mut() {
            driver.calls.remove(call);
            driver.core.forget_call(*call);
        }
        pump(&shared);
    }
}

impl ReliableConnection {
    /// pika's RPC client (RabbitMQ's tutorial 6): publishes `body` to `exchange`
    /// / `routing_key` with `reply_to` set to this connection's reply queue
    /// (`/temp-queue/burrow.rpc`, which Web-STOMP makes for the connection) and a
    /// correlation id (the one in `properties`, or a new one); the returned
    /// [`CallReply`] resolves with the reply: an auto-acked [`Delivery`], nothing
    /// to ack. The request is in line before this returns.
    ///
    /// Frames: `SEND destination:/amq/queue/<routing_key>` (or
    /// `/exchange/<exchange>/<routing_key>`) with `reply-to` and `correlation-id`;
    /// the reply comes as a `MESSAGE` with `subscription:/temp-queue/burrow.rpc`.
    ///
    /// # Errors (of the future)
    ///
    /// [`CallError::Timeout`] when no reply came within `timeout`, or
    /// [`CallError::NoQueue`] then when the management API said (asked once the
    /// call waited half its timeout) that no queue `routing_key` exists on the
    /// default exchange: RabbitMQ confirmed the request and dropped it;
    /// [`CallError::ConnectionLost`] when the connection dropped after RabbitMQ had
    /// the request (its reply queue is gone with the connection; a request not yet
    /// confirmed waits in the outbox and goes again instead);
    /// [`CallError::Stopped`]; [`CallError::Publish`] when the request is refused;
    /// [`CallError::ReplyToGiven`] and [`CallError::CorrelationInUse`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use burrow::rabbit::BasicProperties;
    /// use burrow::reliable::{CallError, ReliableConnection};
    ///
    /// # async fn fib(connection: &ReliableConnection) -> Result<(), CallError> {
    /// let reply = connection
    ///     .call("", "rpc_queue", b"30".to_vec(), &BasicProperties::default(), Duration::from_secs(5))
    ///     .await?;
    /// assert_eq!(reply.body, b"832040");
    /// # Ok(()) }
    /// ```
    pub fn call(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        timeout: Duration,
    ) -> CallReply {
        let (tx, rx) = oneshot::channel();
        let made = {
            let mut driver = self.shared.borrow_mut();
            let made = driver.core.call(now(), pending(exchange, routing_key, body, properties), timeout);
            if let Ok(call) = made {
                driver.calls.insert(call, CallSink::Future(tx));
            }
            made
        };
        pump(&self.shared);
        let state = match made {
            Ok(call) => CallState::Waiting { call, rx, shared: Rc::downgrade(&self.shared) },
            Err(refused) => CallState::Refused(Some(refused)),
        };
        CallReply { state }
    }

    /// [`ReliableConnection::call`] with its outcome called back (the JavaScript
    /// API's path: no task per call).
    ///
    /// # Errors
    ///
    /// As [`ReliableConnection::call`] when it is refused at once (`then` is not called).
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn call_then(
        &self,
        exchange: &str,
        routing_key: &str,
        body: Vec<u8>,
        properties: &BasicProperties,
        timeout: Duration,
        then: Box<dyn FnOnce(Result<Delivery, CallError>)>,
    ) -> Result<(), CallError> {
        {
            let mut driver = self.shared.borrow_mut();
            let call = driver.core.call(now(), pending(exchange, routing_key, body, properties), timeout)?;
            driver.calls.insert(call, CallSink::Callback(then));
        }
        pump(&self.shared);
        Ok(())
    }

    /// pika's RPC server's reply: publishes `body` to `request`'s `reply_to` with
    /// its correlation id (unless `properties` has one). Frame: `SEND` to the
    /// route Web-STOMP's `/reply-queue/<name>` stands for
    /// (`/amq/queue/<name>`), with `correlation-id`. The returned confirm
    /// resolves on RabbitMQ's confirm, as a publish's.
    ///
    /// # Errors
    ///
    /// [`ReplyError::NoReplyTo`] when the request asked for no reply;
    /// [`ReplyError::Publish`] when the reply is refused at once.
    pub fn reply(
        &self,
        request: &Delivery,
        body: Vec<u8>,
        properties: &BasicProperties,
    ) -> Result<PublishConfirm, ReplyError> {
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut driver = self.shared.borrow_mut();
            let id = driver.core.reply(now(), request, body, properties.clone())?;
            driver.confirms.insert(id, ConfirmSink::Future(tx));
            id
        };
        pump(&self.shared);
        Ok(PublishConfirm { id, rx })
    }

    /// [`ReliableConnection::reply`] from a request's `reply_to` and
    /// `correlation_id`, its outcome going to `then`, called once, also when
    /// refused at once (as [`ReliableConnection::publish_then`]'s): the
    /// JavaScript API's path.
    #[cfg_attr(not(feature = "js"), allow(dead_code))]
    pub(crate) fn reply_then(
        &self,
        reply_to: Option<&str>,
        correlation_id: Option<&str>,
        body: Vec<u8>,
        properties: &BasicProperties,
        then: Box<dyn FnOnce(Result<(), ReplyError>)>,
    ) {
        let refused = {
            let mut driver = self.shared.borrow_mut();
            match driver.core.reply_to(now(), reply_to, correlation_id, body, properties.clone()) {
                Ok(id) => {
                    let then = Box::new(move |outcome: Result<(), PublishError>| then(outcome.map_err(ReplyError::Publish)));
                    driver.confirms.insert(id, ConfirmSink::Callback(then));
                    None
                }
                Err(refused) => Some((refused, then)),
            }
        };
        // Called with the driver let go: `then` may ask it why it stopped.
        match refused {
            Some((refused, then)) => then(Err(refused)),
            None => pump(&self.shared),
        }
    }

    /// Replies that matched no call in flight, dropped and counted by the core.
    pub fn unmatched_replies(&self) -> u64 {
        self.shared.borrow().core.unmatched_replies()
    }
}
