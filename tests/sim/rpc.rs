//! The simulation's RPC (tutorial 6): the simulated broker serves queue `rpc`
//! itself, as an echo server behind Web-STOMP's temp queues, and the schedule
//! makes calls. A SEND to `/amq/queue/rpc` with `reply-to:/temp-queue/<name>` is
//! confirmed at once; most get a reply (the request's body, its correlation id)
//! after 0–3 s, as a MESSAGE for subscription `/temp-queue/<name>` on the
//! connection that sent it, if that connection still exists (a temp queue dies
//! with its connection); some get none (the call times out), and now and then a
//! stray reply with a correlation id nobody used comes too.
//!
//! Invariant 12: a reply reaches only its caller (each call's body is unique, and
//! its reply must carry it), each call ends exactly once, a reply never resolves a
//! call after its timeout (beyond the timer's lateness), a timeout never comes
//! early, and after the heal or the stop no call is left waiting.

use std::time::Duration;

use burrow::rabbit::{BasicProperties, Delivery, PendingPublish};
use burrow::reliable::{CallError, CallId, LinkId, PublishError};
use burrow::stomp::{Command, Frame};

use super::{ms, Broker, Sim};

/// A call the schedule made.
#[derive(Debug)]
pub(crate) struct CallRec {
    body: Vec<u8>,
    at: Duration,
    timeout: Duration,
    pub(crate) done: bool,
}

/// A reply the broker will deliver: when, to which connection, the frame.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) due: Duration,
    pub(crate) link: LinkId,
    frame: Frame,
}

impl Broker {
    /// A SEND to `/amq/queue/rpc`: confirmed, and (usually) answered later.
    pub(crate) fn on_call(&mut self, now: Duration, link: LinkId, frame: &Frame) {
        self.receipt(link, frame);
        let Some(reply_to) = frame.header("reply-to").map(str::to_owned) else {
            self.violations.push("a call without reply-to".to_owned());
            return;
        };
        if !reply_to.starts_with("/temp-queue/") {
            self.violations.push(format!("a call's reply-to is {reply_to:?}, not a temp queue"));
            return;
        }
        let correlation = frame.header("correlation-id").unwrap_or_default().to_owned();
        let reply = |body: Vec<u8>, correlation: String, n: u64| {
            let mut message = Frame::new(Command::Message)
                .with_header("subscription", reply_to.clone())
                .with_header("destination", format!("/queue/amq.gen-{link}"))
                .with_header("message-id", format!("T_{reply_to}@@{link}@@r{n}"))
                .with_header("redelivered", "false")
                .with_header("correlation-id", correlation);
            message.body = body;
            message
        };
        self.next_uid += 1;
        if self.rng.chance(85) {
            let due = now + ms(self.rng.range(0, 3000));
            let frame = reply(frame.body.clone(), correlation, self.next_uid);
            self.replies.push(Reply { due, link, frame });
        }
        if self.rng.chance(5) {
            let due = now + ms(self.rng.range(0, 3000));
            let frame = reply(b"stray".to_vec(), format!("stray-{}", self.next_uid), self.next_uid + 1);
            self.replies.push(Reply { due, link, frame });
        }
    }

    /// Delivers the replies that are due to connections that still exist.
    pub(crate) fn deliver_replies(&mut self, now: Duration) {
        if !self.replies.iter().any(|r| r.due <= now) {
            return;
        }
        let (due, later): (Vec<Reply>, Vec<Reply>) = std::mem::take(&mut self.replies).into_iter().partition(|r| r.due <= now);
        self.replies = later;
        for Reply { link, frame, .. } in due {
            if self.conns.get(&link).is_some_and(|c| c.connected) {
                self.send(link, &frame);
            }
        }
    }
}

impl Sim {
    /// The schedule's call: a unique body, a timeout of 0.2–5 s.
    pub(crate) fn rpc_call(&mut self) {
        let n = self.stats.rpc_calls;
        self.stats.rpc_calls += 1;
        let body = format!("call-{n}").into_bytes();
        let timeout = ms(self.rpc_rng.range(200, 5000));
        let request = PendingPublish {
            exchange: String::new(),
            routing_key: "rpc".into(),
            body: body.clone(),
            properties: BasicProperties::default(),
        };
        let at = self.now;
        match self.call(|core, now| core.call(now, request, timeout)) {
            Ok(id) => {
                self.calls.insert(id, CallRec { body, at, timeout, done: false });
                for (call, result) in std::mem::take(&mut self.early_calls) {
                    self.on_call_done(call, result);
                }
            }
            Err(CallError::Publish(PublishError::Stopped | PublishError::StoppedUnsent)) if self.over() => {}
            Err(other) => fail!(self, "call {n} refused at once: {other}"),
        }
    }

    /// Invariant 12, for one call's end.
    pub(crate) fn on_call_done(&mut self, call: CallId, result: Result<Box<Delivery>, CallError>) {
        let tolerance = self.wake_tolerance();
        let now = self.now;
        let Some(rec) = self.calls.get_mut(&call) else {
            // Said while the call was being made: checked once it is known.
            self.early_calls.push((call, result));
            return;
        };
        if rec.done {
            fail!(self, "CallDone({call:?}) twice");
        }
        rec.done = true;
        let (at, timeout) = (rec.at, rec.timeout);
        match result {
            Ok(reply) => {
                if reply.body != rec.body {
                    let (got, wanted) = (String::from_utf8_lossy(&reply.body), String::from_utf8_lossy(&rec.body));
                    fail!(self, "{call:?} got the reply {got:?}, not its own ({wanted:?})");
                }
                if now > at + timeout + tolerance {
                    fail!(self, "{call:?} resolved at {now:?}, after its timeout ({timeout:?} from {at:?})");
                }
                self.stats.rpc_replies += 1;
            }
            Err(CallError::Timeout(t)) => {
                if t != timeout || now < at + timeout {
                    fail!(self, "{call:?} timed out at {now:?}: too early ({timeout:?} from {at:?})");
                }
                self.stats.rpc_timeouts += 1;
            }
            // Its queue exists: the look-up at half-time must not say otherwise.
            Err(error @ CallError::NoQueue { .. }) => fail!(self, "{call:?} ended {error:?}, though queue rpc exists"),
            Err(CallError::ConnectionLost(_)) => self.stats.rpc_lost += 1,
            Err(_) => self.stats.rpc_failed += 1,
        }
    }

    /// After the heal or the stop: no call waits any more.
    pub(crate) fn check_calls_over(&self) {
        if let Some((call, rec)) = self.calls.iter().find(|(_, rec)| !rec.done) {
            fail!(self, "{call:?} (made at {:?}, timeout {:?}) never ended", rec.at, rec.timeout);
        }
        if !self.early_calls.is_empty() {
            fail!(self, "CallDone for calls never made: {:?}", self.early_calls.iter().map(|(c, _)| c).collect::<Vec<_>>());
        }
    }
}
