//! [`Action::RecoverTopology`](crate::sans_io::core::Action::RecoverTopology):
//! the exchanges and bindings this connection made, declared again through the
//! management API after a reconnect, in the order the core asks (see the core's
//! `topology`).

use std::cell::RefCell;
use std::rc::Weak;

use gloo_timers::future::TimeoutFuture;

use super::drive::{fresh_credentials, input, Driver};
use crate::management::{ExchangeCall, ExchangeError, ManagementApi};
use crate::sans_io::core::{BindingSpec, ExchangeSpec, TopologyRecovery};
use crate::transport::now;

/// How often a binding whose queue is not there yet is tried again: the queue
/// may be one the new connection declares again (over STOMP, as it goes on).
const BIND_TRIES: u32 = 5;
const BIND_AGAIN_MS: u32 = 200;

/// Declares the exchanges again, tells the core (the connection goes on), then
/// binds the queues again; each failure is said as a warning.
pub(super) fn recover(
    weak: Weak<RefCell<Driver>>,
    api: Option<ManagementApi>,
    provider: Option<super::CredentialsProvider>,
    recovery: TopologyRecovery,
) {
    super::spawn(Box::pin(async move {
        let TopologyRecovery { link, url, vhost, exchanges, bindings } = recovery;
        let Some(api) = api else {
            let reason = format!("no management API is known for {url}");
            input(&weak, |driver| {
                driver.core.handle_topology_failed(link, "the exchanges and bindings".to_owned(), reason);
                driver.core.handle_topology_recovered(now(), link);
            });
            return;
        };
        let api = fresh_credentials(api, provider).await;
        for ExchangeSpec { exchange, kind, durable, auto_delete } in &exchanges {
            let call = ExchangeCall::Declare { exchange, kind, durable: *durable, auto_delete: *auto_delete };
            if let Err(error) = api.exchange_call(&vhost, &call).await {
                let what = format!("exchange '{exchange}'");
                input(&weak, |driver| driver.core.handle_topology_failed(link, what, error.to_string()));
            }
        }
        input(&weak, |driver| driver.core.handle_topology_recovered(now(), link));
        for BindingSpec { queue, exchange, routing_key } in &bindings {
            let call = ExchangeCall::Bind { queue, exchange, routing_key };
            let mut tries = 1;
            let outcome = loop {
                match api.exchange_call(&vhost, &call).await {
                    Err(ExchangeError::NotFound { .. }) if tries < BIND_TRIES => {
                        tries += 1;
                        TimeoutFuture::new(BIND_AGAIN_MS).await;
                    }
                    outcome => break outcome,
                }
            };
            if let Err(error) = outcome {
                let what = format!("the binding of queue '{queue}' to exchange '{exchange}' (key '{routing_key}')");
                input(&weak, |driver| driver.core.handle_topology_failed(link, what, error.to_string()));
            }
        }
    }));
}
