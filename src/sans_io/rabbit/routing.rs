//! Where an exchange routes a message, by binding key: RabbitMQ's matching rules
//! for direct, fanout and topic exchanges, as pure functions.
//!
//! RabbitMQ confirms a message that no queue takes and drops it, so a publisher
//! that wants to know must look at the bindings itself (the management API lists
//! them). These functions decide, from an exchange's kind and its bindings,
//! whether a routing key reaches anything; fetching the bindings is the browser
//! side's job (`burrow::management`).

use std::fmt;

/// An exchange's type, as the management API names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExchangeKind {
    /// Routes to bindings whose key equals the routing key.
    Direct,
    /// Routes to every binding, whatever the keys.
    Fanout,
    /// Routes by pattern: words separated by `.`, `*` one word, `#` zero or more.
    Topic,
    /// Routes by the message's headers, not its routing key.
    Headers,
    /// A plugin's type (such as `x-consistent-hash`): its rules are its own.
    Other(String),
}

impl ExchangeKind {
    /// The kind named `name` (`"direct"`, `"fanout"`, `"topic"`, `"headers"`, or another).
    pub fn from_name(name: &str) -> Self {
        match name {
            "direct" => ExchangeKind::Direct,
            "fanout" => ExchangeKind::Fanout,
            "topic" => ExchangeKind::Topic,
            "headers" => ExchangeKind::Headers,
            other => ExchangeKind::Other(other.to_owned()),
        }
    }

    /// Its name as RabbitMQ writes it.
    pub fn name(&self) -> &str {
        match self {
            ExchangeKind::Direct => "direct",
            ExchangeKind::Fanout => "fanout",
            ExchangeKind::Topic => "topic",
            ExchangeKind::Headers => "headers",
            ExchangeKind::Other(name) => name,
        }
    }
}

/// Whether a binding with `binding_key` on an exchange of `kind` takes a message
/// published with `routing_key`; `None` when the key does not decide it (a
/// headers exchange, or a plugin's type).
///
/// ```
/// use burrow::rabbit::{binding_matches, ExchangeKind};
///
/// assert_eq!(binding_matches(&ExchangeKind::Direct, "orders", "orders"), Some(true));
/// assert_eq!(binding_matches(&ExchangeKind::Fanout, "", "anything"), Some(true));
/// assert_eq!(binding_matches(&ExchangeKind::Topic, "*.orange.*", "quick.orange.rabbit"), Some(true));
/// assert_eq!(binding_matches(&ExchangeKind::Topic, "lazy.#", "lazy"), Some(true));
/// assert_eq!(binding_matches(&ExchangeKind::Headers, "", "x"), None);
/// ```
pub fn binding_matches(kind: &ExchangeKind, binding_key: &str, routing_key: &str) -> Option<bool> {
    match kind {
        ExchangeKind::Direct => Some(binding_key == routing_key),
        ExchangeKind::Fanout => Some(true),
        ExchangeKind::Topic => Some(topic_matches(binding_key, routing_key)),
        ExchangeKind::Headers | ExchangeKind::Other(_) => None,
    }
}

/// A key's words as RabbitMQ splits them: the empty key has none, and `"a."`
/// has two (`"a"` and `""`).
fn words(key: &str) -> Vec<&str> {
    if key.is_empty() {
        Vec::new()
    } else {
        key.split('.').collect()
    }
}

/// Whether the topic `pattern` (a binding key) matches `routing_key`: `*` stands
/// for exactly one word, `#` for zero or more, any other word for itself.
///
/// Dynamic programming over (pattern words, key words), so a pattern full of `#`
/// costs at most their product (names are at most 255 bytes).
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    let pattern = words(pattern);
    let key = words(routing_key);
    // done[j]: the pattern so far matches the first j words of the key.
    let mut done = vec![false; key.len() + 1];
    if let Some(start) = done.first_mut() {
        *start = true;
    }
    for word in &pattern {
        let mut next = vec![false; key.len() + 1];
        match *word {
            "#" => {
                // Zero or more words: reachable from any earlier match.
                let mut seen = false;
                for (j, slot) in next.iter_mut().enumerate() {
                    seen |= done.get(j).copied().unwrap_or(false);
                    *slot = seen;
                }
            }
            _ => {
                for (j, key_word) in key.iter().enumerate() {
                    let takes = *word == "*" || word == key_word;
                    if takes && done.get(j).copied().unwrap_or(false) {
                        if let Some(slot) = next.get_mut(j + 1) {
                            *slot = true;
                        }
                    }
                }
            }
        }
        done = next;
    }
    done.last().copied().unwrap_or(false)
}

/// Where a binding leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingDestination {
    /// A queue, by name.
    Queue(String),
    /// Another exchange (an exchange-to-exchange binding), by name.
    Exchange(String),
}

/// One binding of an exchange: where it leads, and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The queue or exchange it leads to.
    pub destination: BindingDestination,
    /// Its binding key (RabbitMQ's `routing_key` of the binding).
    pub key: String,
}

/// The bindings of an exchange of `kind` that take `routing_key`, or `None` when
/// keys do not decide it (see [`binding_matches`]).
pub fn matching_bindings<'a>(kind: &ExchangeKind, bindings: &'a [Binding], routing_key: &str) -> Option<Vec<&'a Binding>> {
    let mut matching = Vec::new();
    for binding in bindings {
        if binding_matches(kind, &binding.key, routing_key)? {
            matching.push(binding);
        }
    }
    Some(matching)
}

/// Why a message would be routed nowhere (RabbitMQ confirms it and drops it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unroutable {
    /// The default exchange routes to the queue named by the routing key, and
    /// there is none.
    NoQueue {
        /// The routing key, that is the queue's name.
        queue: String,
    },
    /// The exchange does not exist (RabbitMQ refuses the publish: `NOT_FOUND`).
    NoExchange {
        /// Its name.
        exchange: String,
    },
    /// The exchange exists, but no binding takes the routing key.
    NoBinding {
        /// The exchange.
        exchange: String,
        /// Its type.
        kind: String,
        /// The routing key published with.
        routing_key: String,
    },
}

impl fmt::Display for Unroutable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unroutable::NoQueue { queue } => write!(f, "no queue '{queue}'"),
            Unroutable::NoExchange { exchange } => write!(f, "no exchange '{exchange}'"),
            // A fanout has no binding at all: its routing key is no reason (QA: a learner read it as one).
            Unroutable::NoBinding { exchange, kind, .. } if kind == "fanout" => {
                write!(f, "no queue is bound to the fanout exchange '{exchange}' (a fanout ignores the routing key)")
            }
            Unroutable::NoBinding { exchange, kind, routing_key } => {
                write!(f, "no binding of the {kind} exchange '{exchange}' matches the routing key '{routing_key}'")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(pattern: &str, key: &str) -> bool {
        topic_matches(pattern, key)
    }

    #[test]
    fn direct_needs_the_same_key() {
        assert_eq!(binding_matches(&ExchangeKind::Direct, "black", "black"), Some(true));
        assert_eq!(binding_matches(&ExchangeKind::Direct, "black", "Black"), Some(false));
        assert_eq!(binding_matches(&ExchangeKind::Direct, "", ""), Some(true));
        assert_eq!(binding_matches(&ExchangeKind::Direct, "*", "anything"), Some(false), "no wildcards in direct");
    }

    #[test]
    fn fanout_ignores_keys_and_headers_cannot_be_told() {
        assert_eq!(binding_matches(&ExchangeKind::Fanout, "x", "y"), Some(true));
        assert_eq!(binding_matches(&ExchangeKind::Headers, "x", "x"), None);
        assert_eq!(binding_matches(&ExchangeKind::from_name("x-consistent-hash"), "1", "a"), None);
    }

    /// The tutorial's examples (tutorial five: `*.orange.*`, `*.*.rabbit`, `lazy.#`).
    #[test]
    fn topic_follows_the_tutorial() {
        let cases = [
            ("quick.orange.rabbit", [true, true, false]),
            ("lazy.orange.elephant", [true, false, true]),
            ("quick.orange.fox", [true, false, false]),
            ("lazy.brown.fox", [false, false, true]),
            ("lazy.pink.rabbit", [false, true, true]),
            ("quick.brown.fox", [false, false, false]),
            ("orange", [false, false, false]),
            ("quick.orange.new.rabbit", [false, false, false]),
            ("lazy.orange.new.rabbit", [false, false, true]),
            ("lazy", [false, false, true]),
        ];
        for (key, expected) in cases {
            let got = ["*.orange.*", "*.*.rabbit", "lazy.#"].map(|pattern| topic(pattern, key));
            assert_eq!(got, expected, "{key}");
        }
    }

    #[test]
    fn hash_takes_zero_or_more_words_star_exactly_one() {
        assert!(topic("#", ""));
        assert!(topic("#", "a.b.c"));
        assert!(topic("a.#", "a"));
        assert!(topic("#.a", "a"));
        assert!(topic("a.#.b", "a.b"));
        assert!(topic("a.#.b", "a.x.y.b"));
        assert!(!topic("a.#.b", "a.x.y.c"));
        assert!(topic("#.#", "a"));
        assert!(topic("#.*", "a"));
        assert!(!topic("#.*", ""));
        assert!(!topic("*", ""));
        assert!(topic("*", "a"));
        assert!(!topic("*", "a.b"));
        assert!(topic("*.*", "a.b"));
        assert!(topic("*.#.*", "a.b"));
        assert!(!topic("*.#.*", "a"));
    }

    #[test]
    fn empty_words_count_as_words() {
        // RabbitMQ splits "a." into "a" and "", and "" into no words at all.
        assert!(topic("a.*", "a."));
        assert!(!topic("a", "a."));
        assert!(topic("", ""));
        assert!(!topic("", "a"));
        assert!(topic("*.a", ".a"));
        assert!(topic("a..b", "a..b"));
    }

    #[test]
    fn a_pattern_of_many_hashes_stays_cheap() {
        let pattern = vec!["#"; 127].join(".");
        let key = vec!["w"; 127].join(".");
        assert!(topic(&pattern, &key));
        assert!(!topic(&format!("{pattern}.x"), &key));
    }

    #[test]
    fn matching_bindings_picks_the_ones_that_take_the_key() {
        let queue = |name: &str, key: &str| Binding { destination: BindingDestination::Queue(name.into()), key: key.into() };
        let bindings = [queue("q1", "*.orange.*"), queue("q2", "*.*.rabbit"), queue("q2", "lazy.#")];
        let found = matching_bindings(&ExchangeKind::Topic, &bindings, "lazy.pink.rabbit").unwrap_or_default();
        assert_eq!(found, vec![&bindings[1], &bindings[2]]);
        let none = matching_bindings(&ExchangeKind::Topic, &bindings, "quick.brown.fox").unwrap_or_default();
        assert!(none.is_empty());
        assert_eq!(matching_bindings(&ExchangeKind::Headers, &bindings, "x"), None);
    }

    #[test]
    fn unroutable_says_why_in_words() {
        assert_eq!(Unroutable::NoQueue { queue: "x".into() }.to_string(), "no queue 'x'");
        let words = Unroutable::NoBinding { exchange: "logs".into(), kind: "topic".into(), routing_key: "a.b".into() };
        assert_eq!(words.to_string(), "no binding of the topic exchange 'logs' matches the routing key 'a.b'");
        let fanout = Unroutable::NoBinding { exchange: "logs".into(), kind: "fanout".into(), routing_key: String::new() };
        assert_eq!(fanout.to_string(), "no queue is bound to the fanout exchange 'logs' (a fanout ignores the routing key)");
    }
}
