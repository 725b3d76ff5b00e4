//! pika's exchange and binding calls on a connection: STOMP cannot make them, so
//! they go through RabbitMQ's management API for the connection (its URL, vhost
//! and credentials; [`crate::reliable::ReliableOptions::management_url`] when set).

use std::pin::pin;

use futures_util::future::{select, Either};

use super::ReliableConnection;
use crate::management::{ExchangeCall, ExchangeError, ManagementApi, ManagementError};
use crate::sans_io::core::{BindingSpec, Core, ExchangeSpec, Phase, StopReason};

impl ReliableConnection {
    /// The management API this connection's exchange calls use: `None` when its
    /// URL does not say where (set [`crate::reliable::ReliableOptions::management_url`]).
    pub fn management(&self) -> Option<ManagementApi> {
        self.shared.borrow().management()
    }

    /// Makes `call` through the management API for this connection (with the
    /// credentials provider's fresh credentials when there is one, and its
    /// vhost): the one future behind every exchange and binding call. It ends
    /// [`ExchangeError::Stopped`] when [`ReliableConnection::stop`] comes first, as its
    /// publishes do, instead of waiting for the API's answer (up to
    /// [`crate::management::REQUEST_LIMIT_MS`]); the request is then cancelled.
    pub(crate) async fn exchange_call(&self, call: ExchangeCall<'_>) -> Result<bool, ExchangeError> {
        let (api, vhost, provider) = self.calls_parts();
        let Some(api) = api else {
            return Err(ExchangeError::Unreachable {
                what: call.what(false),
                source: ManagementError::Unreachable {
                    url: String::new(),
                    reason: "the connection's URL does not say where it is; set ReliableOptions::management_url".to_owned(),
                },
            });
        };
        let answered = async {
            let api = super::drive::fresh_credentials(api, provider).await;
            api.exchange_call(&vhost, &call).await
        };
        let outcome = match select(pin!(answered), pin!(self.until_stop_requested())).await {
            Either::Left((outcome, _)) => outcome,
            Either::Right(((), _)) => return Err(ExchangeError::Stopped { what: call.what(false) }),
        };
        if outcome.is_ok() {
            self.record(call);
        }
        outcome
    }

    /// Resolves once [`ReliableConnection::stop`] was called. A connection that
    /// stopped by itself (a login refused) leaves the call its answer, which says
    /// more (such as "Not management user").
    async fn until_stop_requested(&self) {
        // Only `stop` leaves the core Stopping (waiting for the DISCONNECT's receipt).
        let requested = |core: &Core| core.phase() == Phase::Stopping || core.stop_reason() == Some(&StopReason::Requested);
        self.wait_for(|core| requested(core).then_some(())).await;
    }

    /// What a management call needs: the API (`None` when the URL does not say
    /// where), the vhost, and the credentials provider for fresh credentials.
    fn calls_parts(&self) -> (Option<ManagementApi>, String, Option<super::CredentialsProvider>) {
        let driver = self.shared.borrow();
        (driver.management(), driver.vhost(), driver.provider.clone())
    }

    /// Keeps `exchange`, made by another connection or program, as this
    /// connection's own: read from the management API as it is now, it is
    /// declared again after every reconnect when it is not durable (a broker
    /// restart deletes it, and a subscription to it would then fail NOT_FOUND).
    /// A durable one, RabbitMQ's own `amq.*`, an internal one or one with
    /// arguments (a declare by type and flags would not make it again), one not
    /// there, or no management API to ask: nothing is kept (such a subscription fails in words, as
    /// without this call).
    pub fn keep_exchange(&self, exchange: &str) {
        let (api, vhost, provider) = self.calls_parts();
        let Some(api) = api.filter(|_| !exchange.starts_with("amq.")) else { return };
        let (weak, exchange) = (std::rc::Rc::downgrade(&self.shared), exchange.to_owned());
        super::spawn(Box::pin(async move {
            let api = super::drive::fresh_credentials(api, provider).await;
            let Ok(Some(spec)) = api.exchange_spec(&vhost, &exchange).await else { return };
            if let Some(shared) = weak.upgrade().filter(|_| !spec.durable) {
                if let Ok(mut driver) = shared.try_borrow_mut() {
                    driver.core.exchange_declared(spec);
                }
            }
        }));
    }

    /// What `call` made or ended is declared again after a reconnect, or no
    /// longer (a broker restart deletes a non-durable exchange, and the bindings
    /// of a non-durable queue): the core keeps the record.
    fn record(&self, call: ExchangeCall<'_>) {
        let binding = |queue: &str, exchange: &str, routing_key: &str| BindingSpec {
            queue: queue.to_owned(),
            exchange: exchange.to_owned(),
            routing_key: routing_key.to_owned(),
        };
        let mut driver = self.shared.borrow_mut();
        let core = &mut driver.core;
        match call {
            ExchangeCall::Declare { exchange, kind, durable, auto_delete } => {
                core.exchange_declared(ExchangeSpec { exchange: exchange.to_owned(), kind: kind.to_owned(), durable, auto_delete });
            }
            ExchangeCall::Delete { exchange } => core.exchange_deleted(exchange),
            ExchangeCall::Bind { queue, exchange, routing_key } => core.queue_bound(binding(queue, exchange, routing_key)),
            ExchangeCall::Unbind { queue, exchange, routing_key } => core.queue_unbound(&binding(queue, exchange, routing_key)),
            // Deleted (or not there), a queue is no longer declared again at a reconnect.
            ExchangeCall::QueueDelete { queue } => core.forget_queue(queue),
        }
    }

    /// pika's `exchange_declare(exchange, exchange_type, durable, auto_delete)`,
    /// through the management API (`PUT /api/exchanges/<vhost>/<name>`):
    /// `exchange_type` is `direct`, `fanout`, `topic` or `headers`.
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words: no permission (401/403), management not
    /// reachable, a type RabbitMQ refuses, a redeclare with other properties.
    pub async fn exchange_declare(
        &self,
        exchange: &str,
        exchange_type: &str,
        durable: bool,
        auto_delete: bool,
    ) -> Result<(), ExchangeError> {
        self.exchange_call(ExchangeCall::Declare { exchange, kind: exchange_type, durable, auto_delete }).await.map(drop)
    }

    /// pika's `exchange_delete(exchange)`; `false` when there was no such exchange.
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words.
    pub async fn exchange_delete(&self, exchange: &str) -> Result<bool, ExchangeError> {
        self.exchange_call(ExchangeCall::Delete { exchange }).await
    }

    /// pika's `queue_bind(queue, exchange, routing_key)`.
    ///
    /// # Errors
    ///
    /// [`ExchangeError::NotFound`] for a missing exchange or queue, the rest in words.
    pub async fn queue_bind(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<(), ExchangeError> {
        self.exchange_call(ExchangeCall::Bind { queue, exchange, routing_key }).await.map(drop)
    }

    /// pika's `queue_unbind(queue, exchange, routing_key)`; `false` when there was
    /// no such binding.
    ///
    /// # Errors
    ///
    /// [`ExchangeError::NotFound`] for a missing exchange or queue, the rest in words.
    pub async fn queue_unbind(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<bool, ExchangeError> {
        self.exchange_call(ExchangeCall::Unbind { queue, exchange, routing_key }).await
    }

    /// pika's `queue_delete(queue)`: how a durable subscription
    /// ([`crate::rabbit::ConsumeFrom::durable`]) ends for good, its queue and
    /// messages deleted (an UNSUBSCRIBE leaves it). `false` when there was no such queue.
    /// Deleted (or not there), it is no longer declared again at a reconnect.
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words.
    pub async fn queue_delete(&self, queue: &str) -> Result<bool, ExchangeError> {
        self.exchange_call(ExchangeCall::QueueDelete { queue }).await
    }

    /// `queue` was deleted (through the management API, as
    /// [`ReliableConnection::queue_delete`] does): this connection no longer
    /// declares it again at a reconnect, where it would come back.
    pub fn forget_queue(&self, queue: &str) {
        self.shared.borrow_mut().core.forget_queue(queue);
    }
}
