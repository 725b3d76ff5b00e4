//! What each tutorial lesson did, for its progress panel: plain data.

use std::collections::BTreeMap;

use super::publishing::PublishCounts;

/// A declare's outcome, in words, for the queue it was about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclareResult {
    /// RabbitMQ declared it (or it existed with the same properties).
    Declared {
        /// The queue.
        queue: String,
        /// What the form shows.
        words: String,
    },
    /// Refused: by Burrow before sending, or by RabbitMQ.
    Refused {
        /// The queue.
        queue: String,
        /// Why, in words.
        words: String,
    },
}

impl DeclareResult {
    /// Whether the queue was declared.
    pub fn ok(&self) -> bool {
        matches!(self, DeclareResult::Declared { .. })
    }

    /// What to show.
    pub fn words(&self) -> &str {
        match self {
            DeclareResult::Declared { words, .. } | DeclareResult::Refused { words, .. } => words,
        }
    }

    /// The queue it was about.
    pub fn queue(&self) -> &str {
        match self {
            DeclareResult::Declared { queue, .. } | DeclareResult::Refused { queue, .. } => queue,
        }
    }
}

/// What one lesson did since it started (or was reset).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LessonProgress {
    /// The last declare of each of its queues.
    pub declares: BTreeMap<String, DeclareResult>,
    /// A refused declare of a queue it had declared (the durability lesson's
    /// redeclare with other options): the queue is still there, as declared.
    pub refused_again: BTreeMap<String, DeclareResult>,
    /// The consumers it added, by role ("first", "second").
    pub consumers: BTreeMap<&'static str, u32>,
    /// The last declare of each of its exchanges: declared or not, in words.
    pub exchanges: BTreeMap<String, (bool, String)>,
    /// Its RPC calls' outcomes, in order: answered or not, in words.
    pub calls: Vec<(bool, String)>,
    /// Its publishes, counted.
    pub publishes: PublishCounts,
    /// What the last "Reset this lesson" did.
    pub reset: Option<ResetOutcome>,
}

/// What a lesson's reset did, for its progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetOutcome {
    /// Every step went (a queue or exchange that was not there counts as gone).
    pub ok: bool,
    /// What it did, and what failed first, in words.
    pub words: String,
}

impl ResetOutcome {
    /// From the steps that went (`done`) and those that failed (`failed`), each in
    /// words. One failure is enough to make it not ok: a lesson left half reset
    /// must not look clean (QA: a reset whose delete failed showed ✓).
    pub fn of(done: &[String], failed: &[String]) -> Self {
        let words = match (done.is_empty(), failed.is_empty()) {
            (true, true) => "Nothing to reset.".to_owned(),
            (false, true) => format!("Reset: {}.", done.join("; ")),
            (true, false) => format!("Reset failed: {}.", failed.join("; ")),
            (false, false) => format!("Reset incomplete: {}. Done: {}.", failed.join("; "), done.join("; ")),
        };
        ResetOutcome { ok: failed.is_empty(), words }
    }
}

impl LessonProgress {
    /// Whether its queue `queue` was declared.
    pub fn declared(&self, queue: &str) -> bool {
        self.declares.get(queue).is_some_and(DeclareResult::ok)
    }

    /// Whether its exchange `exchange` was declared.
    pub fn exchange_declared(&self, exchange: &str) -> bool {
        self.exchanges.get(exchange).is_some_and(|(ok, _)| *ok)
    }

    /// Whether it did anything a reset would undo or clear.
    pub fn anything(&self) -> bool {
        !self.consumers.is_empty()
            || !self.declares.is_empty()
            || !self.refused_again.is_empty()
            || !self.exchanges.is_empty()
            || !self.calls.is_empty()
            || self.publishes.published > 0
    }
}

/// Every lesson's progress, by its index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuideProgress {
    /// By lesson index.
    pub lessons: BTreeMap<usize, LessonProgress>,
}

impl GuideProgress {
    /// Lesson `lesson`'s progress (empty when it did nothing yet).
    pub fn lesson(&self, lesson: usize) -> LessonProgress {
        self.lessons.get(&lesson).cloned().unwrap_or_default()
    }

    /// Lesson `lesson`'s progress, to change.
    pub fn lesson_mut(&mut self, lesson: usize) -> &mut LessonProgress {
        self.lessons.entry(lesson).or_default()
    }
}
