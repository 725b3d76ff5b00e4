//! The workbench's behaviour as yew hooks: the components draw, these run
//! connections, poll the management API and report.

mod use_progress_report;
mod use_queue_figures;
mod use_queue_list;
mod use_reliable_consumer;

pub use use_progress_report::use_progress_report;
pub use use_queue_figures::{use_queue_figures, Figures};
pub use use_queue_list::{clock_now, use_queue_list, QueueList, QueueListHandle, ReadProblem};
pub use use_reliable_consumer::{use_reliable_consumer, ConsumerHandle};
