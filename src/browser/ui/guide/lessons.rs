//! The tutorial's lessons as data: what each explains, its pika code, its
//! queues, and its actions (buttons). A lesson that needs another kind of
//! action (an exchange, a binding, a reply queue) adds a variant here; the
//! panel, its progress and its reset follow the data.

/// One button of a lesson.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LessonAction {
    /// Declare a queue (classic).
    Declare {
        /// Its name.
        queue: &'static str,
        /// Durable or not.
        durable: bool,
    },
    /// Publish to a queue through the default exchange.
    Publish {
        /// The queue.
        queue: &'static str,
        /// The body (copies numbered in a header).
        body: &'static str,
        /// Persistent or not.
        persistent: bool,
        /// How many.
        count: u32,
    },
    /// Add a consumer, known in the lesson by its role.
    AddConsumer {
        /// Its role ("first", "second"): the progress names it by its card.
        role: &'static str,
        /// The queue.
        queue: &'static str,
        /// Auto-ack or manual.
        auto_ack: bool,
        /// Prefetch.
        prefetch: u16,
    },
    /// Crash the consumer of this role.
    Crash {
        /// Its role.
        role: &'static str,
    },
}

/// One lesson of the tutorial.
#[derive(Debug, PartialEq, Eq)]
pub struct Lesson {
    /// Its tab.
    pub title: &'static str,
    /// What it shows.
    pub explain: &'static str,
    /// The pika code it does.
    pub pika: &'static str,
    /// The queues it makes (its reset deletes them).
    pub queues: &'static [&'static str],
    /// Its buttons, in order.
    pub actions: &'static [LessonAction],
    /// What to look at.
    pub watch: &'static str,
}

/// The tutorial's first four lessons.
pub const LESSONS: [Lesson; 4] = [
    Lesson {
        title: "1. Hello World",
        explain: "One producer sends one message to a queue; one consumer receives it. Names and bodies can be Chinese.",
        pika: "channel.queue_declare(queue='水续传')\nchannel.basic_publish(exchange='', routing_key='水续传', body='大郎 起来喝药了')\nchannel.basic_consume(queue='水续传', on_message_callback=callback, auto_ack=True)",
        queues: &["水续传"],
        actions: &[
            LessonAction::Declare { queue: "水续传", durable: false },
            LessonAction::Publish { queue: "水续传", body: "大郎 起来喝药了", persistent: false, count: 1 },
            LessonAction::AddConsumer { role: "first", queue: "水续传", auto_ack: true, prefetch: 0 },
        ],
        watch: "The consumer receives the body as sent; the queue's ready count drops to 0.",
    },
    Lesson {
        title: "2. Work queues",
        explain: "One producer, several consumers: RabbitMQ hands messages out in turn (round-robin).",
        pika: "channel.queue_declare(queue='task_queue')\nfor i in range(10):\n    channel.basic_publish(exchange='', routing_key='task_queue', body=f'task {i}')",
        queues: &["task_queue"],
        actions: &[
            LessonAction::Declare { queue: "task_queue", durable: false },
            LessonAction::AddConsumer { role: "first", queue: "task_queue", auto_ack: true, prefetch: 0 },
            LessonAction::AddConsumer { role: "second", queue: "task_queue", auto_ack: true, prefetch: 0 },
            LessonAction::Publish { queue: "task_queue", body: "task", persistent: false, count: 10 },
        ],
        watch: "Each consumer gets every other task: #1/10, #3/10, #5/10… and #2/10, #4/10, #6/10…",
    },
    Lesson {
        title: "3. Acknowledgements",
        explain: "A consumer that dies before basic_ack loses nothing: its message goes back to the queue and to another consumer, marked redelivered.",
        pika: "channel.basic_qos(prefetch_count=1)\ndef callback(ch, method, properties, body):\n    raise Exception('crash before ack')\nchannel.basic_consume(queue='ack_demo', on_message_callback=callback)",
        queues: &["ack_demo"],
        actions: &[
            LessonAction::Declare { queue: "ack_demo", durable: false },
            LessonAction::AddConsumer { role: "first", queue: "ack_demo", auto_ack: false, prefetch: 1 },
            LessonAction::Publish { queue: "ack_demo", body: "important work", persistent: false, count: 1 },
            LessonAction::AddConsumer { role: "second", queue: "ack_demo", auto_ack: false, prefetch: 1 },
            LessonAction::Crash { role: "first" },
        ],
        watch: "The first consumer holds the message unacked (queue figure: unacked 1). After its crash the second gets it marked “redelivered”; ack it and the queue is empty.",
    },
    Lesson {
        title: "4. Durable queues, persistent messages",
        explain: "A durable queue survives a broker restart, and so do its persistent (delivery_mode=2) messages; transient ones do not. An existing queue cannot change its durability: RabbitMQ refuses the redeclare.",
        pika: "channel.queue_declare(queue='task_queue_durable', durable=True)\nchannel.basic_publish(exchange='', routing_key='task_queue_durable', body='saved',\n    properties=pika.BasicProperties(delivery_mode=2))",
        queues: &["task_queue_durable"],
        actions: &[
            LessonAction::Declare { queue: "task_queue_durable", durable: true },
            LessonAction::Publish { queue: "task_queue_durable", body: "persistent", persistent: true, count: 3 },
            LessonAction::Publish { queue: "task_queue_durable", body: "transient", persistent: false, count: 2 },
            LessonAction::Declare { queue: "task_queue_durable", durable: false },
        ],
        watch: "Restart the broker (sudo rabbitmqctl stop_app; sudo rabbitmqctl start_app), connect again and add a consumer on task_queue_durable: only the 3 persistent messages are there. The redeclare is refused in words next to the queue form.",
    },
];
