//! The names of a workbench's regions (its cards: "Connection", "Producer", …),
//! told apart when several widgets share a page.

use yew::prelude::*;

/// How a workbench names its regions: as they are in the first (or only)
/// workbench on a page, and with its number in any other ("Connection
/// (widget 2)"), so that a screen reader's list of landmarks can tell two
/// widgets apart (QA: two widgets gave the same names twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RegionNames {
    /// The widget's number on its page; `None` or 1: names as they are.
    pub number: Option<u32>,
}

impl RegionNames {
    /// The name of the region called `base` in a single workbench.
    pub fn name(&self, base: &str) -> String {
        match self.number {
            Some(number) if number > 1 => format!("{base} (widget {number})"),
            _ => base.to_owned(),
        }
    }
}

/// The name this workbench gives its region `base` (see [`RegionNames`]).
#[hook]
pub fn use_region_name(base: &str) -> String {
    use_context::<RegionNames>().unwrap_or_default().name(base)
}
