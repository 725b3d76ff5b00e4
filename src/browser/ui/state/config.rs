//! How a workbench starts: which panels, and the form's first values.

/// Which panels a workbench shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Panels {
    /// The guided tutorial flows.
    pub guide: bool,
    /// The connection form.
    pub connection: bool,
    /// Every queue of the virtual host, with peek, purge and delete.
    pub queues: bool,
    /// Declare a queue, and its live figures.
    pub queue: bool,
    /// Publish messages.
    pub producer: bool,
    /// Consumers and their deliveries.
    pub consumers: bool,
}

impl Default for Panels {
    fn default() -> Self {
        Panels { guide: true, connection: true, queues: true, queue: true, producer: true, consumers: true }
    }
}

impl Panels {
    /// None at all.
    pub fn none() -> Self {
        Panels { guide: false, connection: false, queues: false, queue: false, producer: false, consumers: false }
    }

    /// Parses names such as `["producer", "consumers"]`; unknown names are ignored.
    /// The guide brings the consumers panel: its lessons' consumers are cards
    /// there, and run only there (QA: a guide alone never finished a lesson).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let mut panels = Panels::none();
        for name in names {
            match name {
                "guide" => {
                    panels.guide = true;
                    panels.consumers = true;
                }
                "connection" => panels.connection = true,
                "queues" => panels.queues = true,
                "queue" => panels.queue = true,
                "producer" => panels.producer = true,
                "consumers" => panels.consumers = true,
                _ => {}
            }
        }
        panels
    }
}

/// How a workbench starts: set by the app, or by the page that embeds the widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbenchConfig {
    /// The Web-STOMP URL in the form at first.
    pub url: String,
    /// RabbitMQ's management API in the form at first (such as
    /// `http://127.0.0.1:15673`); `None`: where the Web-STOMP URL implies.
    pub management_url: Option<String>,
    /// The login in the form at first.
    pub login: String,
    /// The passcode, if the host page gives it; otherwise the user types it.
    pub passcode: Option<String>,
    /// The virtual host.
    pub vhost: String,
    /// The queue the panels start with.
    pub queue: String,
    /// Which panels to show.
    pub panels: Panels,
    /// Connect at once (only when a passcode is given).
    pub auto_connect: bool,
    /// A title above the panels.
    pub title: Option<String>,
}
