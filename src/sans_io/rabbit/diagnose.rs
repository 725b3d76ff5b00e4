//! Rebuilding the broker's words for a refusal that RabbitMQ 3.10's Web-STOMP
//! closed without explaining, from the queue as it exists. Plain data in,
//! [`Refusal`] out: the management API (browser side) supplies the facts.

use super::{QueueOptions, Refusal, RefusalKind};

/// What the refusal logic needs to know of a queue as the broker has it (the
/// browser's management client reads it from the management API).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueFacts {
    /// Survives a restart.
    pub durable: bool,
    /// Owned by one connection.
    pub exclusive: bool,
    /// Deleted when its last consumer goes.
    pub auto_delete: bool,
    /// Its `x-` arguments, values as text (`x-queue-type` among them).
    pub arguments: Vec<(String, String)>,
    /// How many consumers the management API counts (its statistics, up to a few
    /// seconds old); `None` when it does not say.
    pub consumers: Option<u64>,
}

/// RabbitMQ 3.10's Web-STOMP closes the socket ("STOMP died") without sending the
/// ERROR frame when a channel-level refusal happens, so the broker's words never
/// arrive. This rebuilds them for a refused `queue_declare` from the queue as it
/// exists (`None` if it does not), phrased as RabbitMQ phrases them.
pub fn diagnose_declare(queue: &str, vhost: &str, requested: &QueueOptions, existing: Option<&QueueFacts>) -> Refusal {
    let Some(existing) = existing else {
        return unexplained(format!("RabbitMQ refused to declare queue '{queue}' in vhost '{vhost}'"));
    };
    if existing.exclusive {
        return Refusal {
            kind: RefusalKind::ResourceLocked,
            message: "resource_locked".to_owned(),
            detail: format!(
                "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{queue}' in vhost '{vhost}'"
            ),
        };
    }
    let flags = [
        ("durable", requested.durable, existing.durable),
        ("exclusive", requested.exclusive, existing.exclusive),
        ("auto_delete", requested.auto_delete, existing.auto_delete),
    ];
    let mismatch = flags
        .iter()
        .find(|(_, asked, has)| asked != has)
        .map(|(name, asked, has)| (name.to_string(), asked.to_string(), has.to_string()))
        .or_else(|| {
            let value = |args: &[(String, String)], name: &str| {
                args.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
            };
            let asked_for = requested.effective_arguments();
            let mut names: Vec<&String> = asked_for.iter().chain(&existing.arguments).map(|(n, _)| n).collect();
            crate::sans_io::sort::heap_sort_by(&mut names, |a, b| a < b);
            names.dedup();
            names.into_iter().find_map(|name| {
                let (asked, has) = (value(&asked_for, name), value(&existing.arguments, name));
                (asked != has).then(|| {
                    let show = |v: Option<String>| v.unwrap_or_else(|| "none".to_owned());
                    (name.clone(), show(asked), show(has))
                })
            })
        });
    match mismatch {
        Some((argument, asked, has)) => Refusal {
            kind: RefusalKind::PreconditionFailed,
            message: "precondition_failed".to_owned(),
            detail: format!(
                "PRECONDITION_FAILED - inequivalent arg '{argument}' for queue '{queue}' in vhost '{vhost}': received '{asked}' but current is '{has}'"
            ),
        },
        None => unexplained(format!("RabbitMQ refused to declare queue '{queue}' in vhost '{vhost}'")),
    }
}

/// The same for a refused `basic_consume`.
pub fn diagnose_consume(queue: &str, vhost: &str, existing: Option<&QueueFacts>) -> Refusal {
    match existing {
        None => Refusal {
            kind: RefusalKind::NotFound,
            message: "not_found".to_owned(),
            detail: format!("NOT_FOUND - no queue '{queue}' in vhost '{vhost}'"),
        },
        Some(state) if state.exclusive => Refusal {
            kind: RefusalKind::ResourceLocked,
            message: "resource_locked".to_owned(),
            detail: format!(
                "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{queue}' in vhost '{vhost}'"
            ),
        },
        Some(_) => unexplained(format!("RabbitMQ refused to consume from queue '{queue}' in vhost '{vhost}'")),
    }
}

fn unexplained(detail: String) -> Refusal {
    Refusal {
        kind: RefusalKind::Unexplained,
        message: "refused".to_owned(),
        detail: format!("{detail} and closed the connection without saying why (Web-STOMP dropped the ERROR frame); check the user's permissions"),
    }
}
