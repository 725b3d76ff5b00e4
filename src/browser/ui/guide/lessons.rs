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
    /// Declare an exchange (through the management API: STOMP cannot).
    DeclareExchange {
        /// Its name.
        exchange: &'static str,
        /// `fanout`, `direct` or `topic`.
        kind: &'static str,
    },
    /// Add a consumer subscribed to an exchange with a binding key, through a
    /// queue Web-STOMP makes for it (pika: `queue_declare('', exclusive=True)`,
    /// `queue_bind`, `basic_consume`).
    Subscribe {
        /// Its role ("first", "second").
        role: &'static str,
        /// The exchange.
        exchange: &'static str,
        /// The binding key.
        routing_key: &'static str,
    },
    /// Publish to an exchange with a routing key.
    PublishTo {
        /// The exchange.
        exchange: &'static str,
        /// The routing key.
        routing_key: &'static str,
        /// The body.
        body: &'static str,
    },
    /// Start the Fibonacci server: a consumer of `queue` that replies fib(n).
    Serve {
        /// Its role.
        role: &'static str,
        /// The queue it serves.
        queue: &'static str,
    },
    /// Call the server on `queue` with the number `n`, on the main connection.
    Call {
        /// The server's queue.
        queue: &'static str,
        /// The number.
        n: u32,
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
    /// The exchanges it makes (its reset deletes them).
    pub exchanges: &'static [&'static str],
    /// Its buttons, in order.
    pub actions: &'static [LessonAction],
    /// What to look at.
    pub watch: &'static str,
}

/// The tutorial's lessons: RabbitMQ's six, the second in three parts.
pub const LESSONS: [Lesson; 8] = [
    Lesson {
        title: "1. Hello World",
        explain: "One producer sends one message to a queue; one consumer receives it. Names and bodies can be Chinese.",
        pika: "channel.queue_declare(queue='水续传')\nchannel.basic_publish(exchange='', routing_key='水续传', body='大郎 起来喝药了')\nchannel.basic_consume(queue='水续传', on_message_callback=callback, auto_ack=True)",
        exchanges: &[],
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
        exchanges: &[],
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
        title: "2. Acknowledgements",
        explain: "A consumer that dies before basic_ack loses nothing: its message goes back to the queue and to another consumer, marked redelivered.",
        pika: "channel.basic_qos(prefetch_count=1)\ndef callback(ch, method, properties, body):\n    raise Exception('crash before ack')\nchannel.basic_consume(queue='ack_demo', on_message_callback=callback)",
        exchanges: &[],
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
        title: "2. Durability",
        explain: "A durable queue survives a broker restart, and so do its persistent (delivery_mode=2) messages; transient ones do not. An existing queue cannot change its durability: RabbitMQ refuses the redeclare.",
        pika: "channel.queue_declare(queue='task_queue_durable', durable=True)\nchannel.basic_publish(exchange='', routing_key='task_queue_durable', body='saved',\n    properties=pika.BasicProperties(delivery_mode=2))",
        exchanges: &[],
        queues: &["task_queue_durable"],
        actions: &[
            LessonAction::Declare { queue: "task_queue_durable", durable: true },
            LessonAction::Publish { queue: "task_queue_durable", body: "persistent", persistent: true, count: 3 },
            LessonAction::Publish { queue: "task_queue_durable", body: "transient", persistent: false, count: 2 },
            LessonAction::Declare { queue: "task_queue_durable", durable: false },
        ],
        watch: "Restart the broker (sudo rabbitmqctl stop_app; sudo rabbitmqctl start_app), connect again and add a consumer on task_queue_durable: only the 3 persistent messages are there. The redeclare is refused in words next to the queue form.",
    },
    Lesson {
        title: "3. Publish/Subscribe",
        explain: "A fanout exchange copies every message to every queue bound to it: each subscriber gets its own queue (made by RabbitMQ for the subscription, deleted with it) and every message.",
        pika: "channel.exchange_declare(exchange='logs', exchange_type='fanout')\n# receive_logs.py, run twice:\nresult = channel.queue_declare(queue='', exclusive=True)\nchannel.queue_bind(exchange='logs', queue=result.method.queue)\nchannel.basic_consume(queue=result.method.queue, on_message_callback=callback, auto_ack=True)\n# emit_log.py:\nchannel.basic_publish(exchange='logs', routing_key='', body=message)",
        exchanges: &["logs"],
        queues: &[],
        actions: &[
            LessonAction::DeclareExchange { exchange: "logs", kind: "fanout" },
            LessonAction::Subscribe { role: "first", exchange: "logs", routing_key: "" },
            LessonAction::Subscribe { role: "second", exchange: "logs", routing_key: "" },
            LessonAction::PublishTo { exchange: "logs", routing_key: "", body: "info: Hello World!" },
        ],
        watch: "Both consumers receive every message. A message published before any subscriber is routed nowhere: a fanout keeps nothing.",
    },
    Lesson {
        title: "4. Routing",
        explain: "A direct exchange delivers a message to the queues bound with exactly its routing key: here the severity.",
        pika: "channel.exchange_declare(exchange='direct_logs', exchange_type='direct')\n# receive_logs_direct.py error / receive_logs_direct.py warning:\nchannel.queue_bind(exchange='direct_logs', queue=queue_name, routing_key=severity)\n# emit_log_direct.py:\nchannel.basic_publish(exchange='direct_logs', routing_key=severity, body=message)",
        exchanges: &["direct_logs"],
        queues: &[],
        actions: &[
            LessonAction::DeclareExchange { exchange: "direct_logs", kind: "direct" },
            LessonAction::Subscribe { role: "first", exchange: "direct_logs", routing_key: "error" },
            LessonAction::Subscribe { role: "second", exchange: "direct_logs", routing_key: "warning" },
            LessonAction::PublishTo { exchange: "direct_logs", routing_key: "error", body: "Run. Run. Or it will explode." },
            LessonAction::PublishTo { exchange: "direct_logs", routing_key: "warning", body: "Disk 80% full." },
        ],
        watch: "The “error” subscriber gets only errors, the “warning” one only warnings.",
    },
    Lesson {
        title: "5. Topics",
        explain: "A topic exchange matches routing keys of dot-separated words against patterns: * is exactly one word, # is zero or more.",
        pika: "channel.exchange_declare(exchange='topic_logs', exchange_type='topic')\n# receive_logs_topic.py '*.critical' / receive_logs_topic.py 'kern.*':\nchannel.queue_bind(exchange='topic_logs', queue=queue_name, routing_key=binding_key)\n# emit_log_topic.py:\nchannel.basic_publish(exchange='topic_logs', routing_key=routing_key, body=message)",
        exchanges: &["topic_logs"],
        queues: &[],
        actions: &[
            LessonAction::DeclareExchange { exchange: "topic_logs", kind: "topic" },
            LessonAction::Subscribe { role: "first", exchange: "topic_logs", routing_key: "*.critical" },
            LessonAction::Subscribe { role: "second", exchange: "topic_logs", routing_key: "kern.*" },
            LessonAction::PublishTo { exchange: "topic_logs", routing_key: "kern.critical", body: "A critical kernel error" },
            LessonAction::PublishTo { exchange: "topic_logs", routing_key: "kern.info", body: "Kernel booted" },
            LessonAction::PublishTo { exchange: "topic_logs", routing_key: "cron.critical", body: "Cron stopped" },
        ],
        watch: "kern.critical reaches both; kern.info only “kern.*”; cron.critical only “*.critical”.",
    },
    Lesson {
        title: "6. RPC",
        explain: "A call publishes its request with a reply-to queue and a correlation id and waits for the reply; the server (a consumer in this page) replies fib(n) to reply-to.",
        pika: "# rpc_server.py:\nchannel.queue_declare(queue='rpc_queue')\ndef on_request(ch, method, props, body):\n    response = fib(int(body))\n    ch.basic_publish(exchange='', routing_key=props.reply_to,\n        properties=pika.BasicProperties(correlation_id=props.correlation_id), body=str(response))\nchannel.basic_consume(queue='rpc_queue', on_message_callback=on_request)\n# rpc_client.py:\nresponse = fibonacci_rpc.call(30)",
        exchanges: &[],
        queues: &["rpc_queue"],
        actions: &[
            LessonAction::Declare { queue: "rpc_queue", durable: false },
            LessonAction::Serve { role: "server", queue: "rpc_queue" },
            LessonAction::Call { queue: "rpc_queue", n: 30 },
        ],
        watch: "The reply is 832040, with the time the call took; the server's card shows the request it answered.",
    },
];
