//! pika's exchange and binding calls on a connection: STOMP cannot make them, so
//! they go through RabbitMQ's management API for the connection (its URL, vhost
//! and credentials; [`crate::reliable::ReliableOptions::management_url`] when set).

use super::ReliableConnection;
use crate::management::{ExchangeError, ManagementApi, ManagementError};

impl ReliableConnection {
    /// The management API this connection's exchange calls use: `None` when its
    /// URL does not say where (set [`crate::reliable::ReliableOptions::management_url`]).
    pub fn management(&self) -> Option<ManagementApi> {
        self.shared.borrow().management()
    }

    /// The management API for an exchange call, with the credentials provider's
    /// fresh credentials when there is one, and the vhost.
    async fn exchange_api(&self, what: &str) -> Result<(ManagementApi, String), ExchangeError> {
        let (api, vhost, provider) = {
            let driver = self.shared.borrow();
            (driver.management(), driver.vhost(), driver.provider.clone())
        };
        let api = api.ok_or_else(|| ExchangeError::Unreachable {
            what: what.to_owned(),
            source: ManagementError::Unreachable {
                url: String::new(),
                reason: "the connection's URL does not say where it is; set ReliableOptions::management_url".to_owned(),
            },
        })?;
        Ok((super::drive::fresh_credentials(api, provider).await, vhost))
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
        let (api, vhost) = self.exchange_api(&format!("declaring exchange '{exchange}'")).await?;
        api.exchange_declare(&vhost, exchange, exchange_type, durable, auto_delete).await
    }

    /// pika's `exchange_delete(exchange)`; `false` when there was no such exchange.
    ///
    /// # Errors
    ///
    /// [`ExchangeError`] in words.
    pub async fn exchange_delete(&self, exchange: &str) -> Result<bool, ExchangeError> {
        let (api, vhost) = self.exchange_api(&format!("deleting exchange '{exchange}'")).await?;
        api.exchange_delete(&vhost, exchange).await
    }

    /// pika's `queue_bind(queue, exchange, routing_key)`.
    ///
    /// # Errors
    ///
    /// [`ExchangeError::NotFound`] for a missing exchange or queue, the rest in words.
    pub async fn queue_bind(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<(), ExchangeError> {
        let (api, vhost) = self.exchange_api(&format!("binding queue '{queue}'")).await?;
        api.queue_bind(&vhost, queue, exchange, routing_key).await
    }

    /// pika's `queue_unbind(queue, exchange, routing_key)`; `false` when there was
    /// no such binding.
    ///
    /// # Errors
    ///
    /// [`ExchangeError::NotFound`] for a missing exchange or queue, the rest in words.
    pub async fn queue_unbind(&self, queue: &str, exchange: &str, routing_key: &str) -> Result<bool, ExchangeError> {
        let (api, vhost) = self.exchange_api(&format!("unbinding queue '{queue}'")).await?;
        api.queue_unbind(&vhost, queue, exchange, routing_key).await
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
        let what = format!("deleting queue '{queue}'");
        let (api, vhost) = self.exchange_api(&what).await?;
        let deleted = api.delete_queue(&vhost, queue).await;
        if deleted.is_ok() {
            self.forget_queue(queue);
        }
        deleted.map_err(|error| match error {
            ManagementError::Unreachable { .. } => ExchangeError::Unreachable { what, source: error },
            ManagementError::Unauthorized => {
                ExchangeError::NoPermission { what, status: 401, reason: "Access refused.".to_owned() }
            }
            ManagementError::Status { status, body } => ExchangeError::Other { what, status, reason: body },
            ManagementError::BadAnswer(e) => ExchangeError::Other { what, status: 200, reason: e.to_string() },
        })
    }

    /// `queue` was deleted (through the management API, as
    /// [`ReliableConnection::queue_delete`] does): this connection no longer
    /// declares it again at a reconnect, where it would come back.
    pub fn forget_queue(&self, queue: &str) {
        self.shared.borrow_mut().core.forget_queue(queue);
    }
}
