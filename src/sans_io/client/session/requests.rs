//! The requests a [`Session`] makes: SEND, SUBSCRIBE / UNSUBSCRIBE, ACK / NACK,
//! transactions and DISCONNECT, each checked and queued with its receipt.

use std::time::Duration;

use crate::stomp::{Command, Frame};

use super::super::types::*;
use super::{Session, Subscribed, Subscription, RESERVED};

impl Session {
    fn fresh_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{}", self.next_id)
    }

    fn ensure_connected(&self) -> Result<(), ClientError> {
        match &self.state {
            State::Connected(_) => Ok(()),
            State::Idle => Err(ClientError::NotConnected(NotConnected::NotStarted)),
            State::Connecting => Err(ClientError::NotConnected(NotConnected::Connecting)),
            State::Disconnecting => Err(ClientError::NotConnected(NotConnected::Disconnecting)),
            State::Closed(reason) => Err(ClientError::NotConnected(NotConnected::Closed(reason.clone()))),
        }
    }

    fn check_headers(headers: &[(String, String)]) -> Result<(), ClientError> {
        match headers.iter().find(|(name, _)| RESERVED.contains(&name.as_str())) {
            Some((name, _)) => Err(ClientError::ReservedHeader(name.clone())),
            None => Ok(()),
        }
    }

    /// Queues `frame`, with a `receipt` header when asked, and remembers what it was.
    fn queue(&mut self, mut frame: Frame, request: Request, receipt: bool) -> Option<ReceiptId> {
        let id = receipt.then(|| ReceiptId(self.fresh_id("receipt")));
        if let Some(id) = &id {
            frame.headers.push(("receipt".to_owned(), id.0.clone()));
            self.pending_receipts.insert(id.clone(), request);
        }
        self.transmits.push_back(Transmit::Frame(frame));
        self.last_sent = self.now;
        id
    }

    /// SEND `body` to `destination` with extra `headers` (a `transaction` header puts
    /// it in a transaction). With `receipt`, the broker confirms it by RECEIPT.
    pub fn send(
        &mut self,
        now: Duration,
        destination: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        receipt: bool,
    ) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.ensure_connected()?;
        Self::check_headers(&headers)?;
        let mut frame = Frame::new(Command::Send).with_header("destination", destination);
        frame.headers.extend(headers);
        frame.body = body;
        let request = Request::Send { destination: destination.to_owned() };
        Ok(self.queue(frame, request, receipt))
    }

    /// SUBSCRIBE to `destination` with a fresh id and extra `headers`.
    pub fn subscribe(
        &mut self,
        now: Duration,
        destination: &str,
        ack: AckMode,
        headers: Vec<(String, String)>,
        receipt: bool,
    ) -> Result<Subscribed, ClientError> {
        self.advance(now);
        self.ensure_connected()?;
        Self::check_headers(&headers)?;
        let id = SubscriptionId(self.fresh_id("sub"));
        let mut frame = Frame::new(Command::Subscribe)
            .with_header("id", id.0.clone())
            .with_header("destination", destination)
            .with_header("ack", ack.as_str());
        frame.headers.extend(headers.iter().cloned());
        let subscription =
            Subscription { id: id.clone(), destination: destination.to_owned(), ack, headers };
        self.subscriptions.insert(id.clone(), subscription);
        let receipt = self.queue(frame, Request::Subscribe(id.clone()), receipt);
        Ok(Subscribed { id, receipt })
    }

    /// UNSUBSCRIBE `id`.
    pub fn unsubscribe(
        &mut self,
        now: Duration,
        id: &SubscriptionId,
        receipt: bool,
    ) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.ensure_connected()?;
        if self.subscriptions.remove(id).is_none() {
            return Err(ClientError::UnknownSubscription(id.clone()));
        }
        let frame = Frame::new(Command::Unsubscribe).with_header("id", id.0.clone());
        Ok(self.queue(frame, Request::Unsubscribe(id.clone()), receipt))
    }

    /// ACK the message whose `ack` header was `ack_id`, optionally in a transaction.
    pub fn ack(
        &mut self,
        now: Duration,
        ack_id: &str,
        transaction: Option<&str>,
        receipt: bool,
    ) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.ensure_connected()?;
        let mut frame = Frame::new(Command::Ack).with_header("id", ack_id);
        if let Some(tx) = transaction {
            frame = frame.with_header("transaction", tx);
        }
        Ok(self.queue(frame, Request::Ack(ack_id.to_owned()), receipt))
    }

    /// NACK the message whose `ack` header was `ack_id`. `requeue: false` adds
    /// RabbitMQ's `requeue:false`, so the message is dropped or dead-lettered
    /// instead of queued again (RabbitMQ requeues by default).
    pub fn nack(
        &mut self,
        now: Duration,
        ack_id: &str,
        transaction: Option<&str>,
        requeue: bool,
        receipt: bool,
    ) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.ensure_connected()?;
        let mut frame = Frame::new(Command::Nack).with_header("id", ack_id);
        if let Some(tx) = transaction {
            frame = frame.with_header("transaction", tx);
        }
        if !requeue {
            frame = frame.with_header("requeue", "false");
        }
        Ok(self.queue(frame, Request::Nack(ack_id.to_owned()), receipt))
    }

    /// BEGIN transaction `tx`.
    pub fn begin(&mut self, now: Duration, tx: &str, receipt: bool) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.transaction(Command::Begin, tx, Request::Begin(tx.to_owned()), receipt)
    }

    /// COMMIT transaction `tx`.
    pub fn commit(&mut self, now: Duration, tx: &str, receipt: bool) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.transaction(Command::Commit, tx, Request::Commit(tx.to_owned()), receipt)
    }

    /// ABORT transaction `tx`.
    pub fn abort(&mut self, now: Duration, tx: &str, receipt: bool) -> Result<Option<ReceiptId>, ClientError> {
        self.advance(now);
        self.transaction(Command::Abort, tx, Request::Abort(tx.to_owned()), receipt)
    }

    fn transaction(
        &mut self,
        command: Command,
        tx: &str,
        request: Request,
        receipt: bool,
    ) -> Result<Option<ReceiptId>, ClientError> {
        self.ensure_connected()?;
        let frame = Frame::new(command).with_header("transaction", tx);
        Ok(self.queue(frame, request, receipt))
    }

    /// DISCONNECT with a receipt; the session closes with [`CloseReason::Disconnected`](crate::client::CloseReason::Disconnected)
    /// when it arrives, or with a transport reason if it does not come in time.
    pub fn disconnect(&mut self, now: Duration) -> Result<ReceiptId, ClientError> {
        self.advance(now);
        self.ensure_connected()?;
        let frame = Frame::new(Command::Disconnect);
        let receipt = self.queue(frame, Request::Disconnect, true);
        self.state = State::Disconnecting;
        self.disconnect_deadline = Some(now + self.options.disconnect_timeout);
        // `queue` with `receipt: true` always returns an id.
        receipt.ok_or(ClientError::MissingReceipt)
    }
}
