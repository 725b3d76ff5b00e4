//! What the named regressions share: scripted simulations and what they
//! recorded since a mark.

use super::*;

impl Sim {
    pub(crate) fn scripted() -> Sim {
        Sim::scripted_cluster(1)
    }

    /// Scripted, with `nodes` URLs (the nodes of a cluster sharing the broker).
    pub(crate) fn scripted_cluster(nodes: usize) -> Sim {
        let verbose = std::env::var("BURROW_SIM_VERBOSE").is_ok();
        let mut sim = Sim::new(7, Config { urls: nodes, ..Config::scripted() }, verbose);
        sim.record = true;
        sim
    }

    /// Delivers everything, and whatever that causes, at the current time.
    pub(crate) fn settle(&mut self) {
        for _ in 0..1000 {
            self.deliver_all();
            self.advance(Duration::ZERO);
            if self.network_idle() {
                return;
            }
        }
        fail!(self, "the network does not settle");
    }

    /// Runs for `d`, delivering as it goes.
    pub(crate) fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        while self.now < end {
            let step = (end - self.now).min(ms(100));
            self.advance(step);
            self.settle();
        }
    }

    pub(crate) fn connect(&mut self) {
        self.start();
        self.run_for(ms(50));
        assert!(self.core.is_connected(), "connected");
    }

    pub(crate) fn mark(&self) -> Mark {
        Mark { events: self.events.len(), taken: self.taken.len() }
    }

    pub(crate) fn events_since(&self, mark: Mark) -> Vec<ReliableEvent> {
        self.events[mark.events..].iter().map(|(_, e)| e.clone()).collect()
    }

    pub(crate) fn outcome(&self, id: OutboxId) -> Option<Outcome> {
        self.pubs.get(&id).and_then(|p| p.outcome.clone())
    }

    pub(crate) fn frames_on(&self, link: LinkId) -> Vec<Frame> {
        self.transmits
            .iter()
            .filter(|(_, l, _)| *l == link)
            .flat_map(|(_, _, items)| items.iter())
            .filter_map(|i| match i {
                Decoded::Frame(f) => Some(f.clone()),
                Decoded::HeartBeat => None,
            })
            .collect()
    }

    pub(crate) fn broker_subs(&self, link: LinkId) -> Vec<String> {
        self.broker.conns.get(&link).map(|c| c.subs.keys().cloned().collect()).unwrap_or_default()
    }

    pub(crate) fn take_held(&mut self) -> Vec<Acker> {
        std::mem::take(&mut self.held).into_iter().map(|h| h.acker).collect()
    }

    /// Acks the held deliveries at these stream offsets (and keeps the others held).
    pub(crate) fn ack_offsets(&mut self, offsets: &[u64]) {
        // Ackers of a lost connection are stale: dropped, as a user would.
        let current = self.core.current_link();
        let (chosen, kept): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .filter(|h| Some(h.acker.link()) == current)
            .partition(|h| h.acker.stream_offset().is_some_and(|o| offsets.contains(&o)));
        self.held = kept;
        assert_eq!(chosen.len(), offsets.len(), "held offsets {offsets:?}");
        for held in chosen {
            self.settle_ack(held.acker, None, false);
        }
        self.settle();
    }

    /// (offset, marked as a possible duplicate) of each delivery to `consumer`
    /// after event `mark`.
    pub(crate) fn stream_deliveries_since(&self, mark: Mark, consumer: ConsumerKey) -> Vec<(u64, bool)> {
        self.taken_since(mark, consumer)
            .into_iter()
            .map(|delivery| (delivery.stream_offset.expect("an offset"), delivery.possibly_duplicate()))
            .collect()
    }

    /// The deliveries `consumer`'s reader took after event `mark`.
    pub(crate) fn taken_since(&self, mark: Mark, consumer: ConsumerKey) -> Vec<burrow::rabbit::Delivery> {
        self.taken[mark.taken..].iter().filter(|(c, _)| *c == consumer).map(|(_, d)| d.clone()).collect()
    }

    /// The `x-stream-offset` of each SUBSCRIBE on `link`.
    pub(crate) fn subscribed_offsets(&self, link: LinkId) -> Vec<Option<String>> {
        self.frames_on(link)
            .iter()
            .filter(|f| f.command == Command::Subscribe)
            .map(|f| f.header("x-stream-offset").map(str::to_owned))
            .collect()
    }

    pub(crate) fn publish_to_stream(&mut self, count: usize) {
        for _ in 0..count {
            self.publish_with("", "s", PubKind::Stream, 0).expect("publish to the stream");
        }
        self.settle();
    }

    pub(crate) fn reconnect_after_a_drop(&mut self) -> LinkId {
        let old = self.core.current_link().expect("link");
        self.drop_current();
        self.run_for(secs(3));
        let new = self.core.current_link().expect("link");
        assert!(self.core.is_connected() && new != old, "reconnected");
        new
    }

    pub(crate) fn opened_urls_since(&self, mark: usize) -> Vec<String> {
        self.actions[mark..]
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Open { url, .. } => Some(url.clone()),
                _ => None,
            })
            .collect()
    }
}
