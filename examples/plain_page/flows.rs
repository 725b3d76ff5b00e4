//! The RabbitMQ tutorial's four flows with Burrow's reliable API: what a pika
//! program does, in the browser.
//!
//! Shared by the plain-wasm page (`examples/plain_page/main.rs`), the yew app
//! (`examples/yew_app/main.rs`) and the browser test `tests/browser_library.rs`,
//! which runs this exact code against the real broker. Each flow returns what it
//! saw, so the test can check it and the pages can show it.

use burrow::client::ConnectOptions;
use burrow::rabbit::{BasicProperties, QueueOptions};
use burrow::reliable::{
    ConnectionEvent, ConsumeOptions, Consumer, DeclareError, Delivery, ReliableConnection, ReliableOptions,
};
use futures_util::StreamExt;

/// Any of Burrow's errors: each is a `std::error::Error`, so `?` takes them all.
pub type Error = Box<dyn std::error::Error>;

/// Where the broker is and who logs in: the tutorial's `pika.ConnectionParameters`.
#[derive(Debug, Clone)]
pub struct Broker {
    /// The Web-STOMP URL, such as `ws://127.0.0.1:15674/ws`.
    pub url: String,
    /// Virtual host and credentials.
    pub options: ConnectOptions,
}

impl Broker {
    /// A connection of its own: each tutorial worker is its own process.
    pub fn connect(&self) -> Result<ReliableConnection, Error> {
        Ok(ReliableConnection::start(&self.url, self.options.clone(), ReliableOptions::default())?)
    }
}

/// The tutorial's queues, except that they delete themselves a minute after their
/// last use (`x-expires`), so running the example leaves nothing behind.
pub fn queue_options(durable: bool) -> QueueOptions {
    QueueOptions { durable, arguments: vec![("x-expires".into(), "60000".into())], ..QueueOptions::default() }
}

/// Flow 1, "Hello World!": declare a queue, publish one message and wait for RabbitMQ's
/// confirm, then consume it. Returns the body the consumer got.
pub async fn hello_world(broker: &Broker, queue: &str) -> Result<String, Error> {
    let producer = broker.connect()?;
    producer.queue_declare(queue, &queue_options(false)).await?;
    // `basic_publish` puts the message in the outbox; the confirm it returns
    // resolves once RabbitMQ has the message.
    let confirm = producer.basic_publish("", queue, "大郎 起来喝药了".into(), &BasicProperties::default()).await?;
    confirm.await?;

    let worker = broker.connect()?;
    // A consumer is a Stream of deliveries; dropping it cancels it.
    let mut messages = worker.basic_consume(queue, ConsumeOptions { auto_ack: true, prefetch: 0, ..ConsumeOptions::default() })?;
    let delivery = next(&mut messages).await?;
    Ok(delivery.body_text())
}

/// Flow 2, work queues: two workers with prefetch 1 share one queue, and RabbitMQ hands
/// the tasks out in turn (fair dispatch). Returns what each worker got.
pub async fn work_queues(broker: &Broker, queue: &str) -> Result<[Vec<String>; 2], Error> {
    let producer = broker.connect()?;
    producer.queue_declare(queue, &queue_options(false)).await?;

    let fair = ConsumeOptions { auto_ack: false, prefetch: 1, ..ConsumeOptions::default() };
    let (mut first, mut second) = (broker.connect()?, broker.connect()?);
    let mut first_tasks = first.basic_consume(queue, fair.clone())?;
    let mut second_tasks = second.basic_consume(queue, fair)?;
    // Both subscribed before the tasks go out, so both get a share.
    ready(&mut first, &first_tasks).await?;
    ready(&mut second, &second_tasks).await?;

    for n in 0..4 {
        producer.basic_publish("", queue, format!("task {n}").into(), &BasicProperties::default()).await?.await?;
    }
    let mut got = [Vec::new(), Vec::new()];
    // Each worker holds one unacknowledged task at a time: it gets its next one
    // only after its ack.
    for _ in 0..2 {
        let (a, b) = (next(&mut first_tasks).await?, next(&mut second_tasks).await?);
        got[0].push(a.body_text());
        got[1].push(b.body_text());
        a.ack()?;
        b.ack()?;
    }
    Ok(got)
}

/// What the acknowledgement flow saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redelivery {
    /// The body the crashed worker got, then the one the second worker got.
    pub bodies: [String; 2],
    /// Whether each copy was marked `redelivered`.
    pub redelivered: [bool; 2],
}

/// Flow 3, acknowledgements: a worker that crashes before its ack loses nothing;
/// RabbitMQ gives the message to another worker, marked `redelivered`.
pub async fn acknowledgements(broker: &Broker, queue: &str) -> Result<Redelivery, Error> {
    let producer = broker.connect()?;
    producer.queue_declare(queue, &queue_options(false)).await?;
    producer.basic_publish("", queue, "a long task".into(), &BasicProperties::default()).await?.await?;

    let manual = ConsumeOptions { auto_ack: false, prefetch: 1, ..ConsumeOptions::default() };
    let crashing = broker.connect()?;
    let mut tasks = crashing.basic_consume(queue, manual.clone())?;
    let first = next(&mut tasks).await?;
    // The worker dies before `basic_ack`: its connection goes without a goodbye.
    crashing.crash();

    let survivor = broker.connect()?;
    let mut tasks = survivor.basic_consume(queue, manual)?;
    let again = next(&mut tasks).await?;
    again.ack()?;
    Ok(Redelivery { bodies: [first.body_text(), again.body_text()], redelivered: [first.redelivered, again.redelivered] })
}

/// Flow 4, durability: a durable queue with a persistent message (both survive a broker
/// restart); then the tutorial's trap, redeclaring the queue as not durable, which
/// RabbitMQ refuses. Returns that refusal.
pub async fn durability(broker: &Broker, queue: &str) -> Result<DeclareError, Error> {
    let producer = broker.connect()?;
    producer.queue_declare(queue, &queue_options(true)).await?;
    producer.basic_publish("", queue, "saved".into(), &BasicProperties::persistent()).await?.await?;
    match producer.queue_declare(queue, &queue_options(false)).await {
        Err(refused) => Ok(refused),
        Ok(()) => Err("RabbitMQ accepted a redeclare with other durability".into()),
    }
}

/// The consumer's next delivery; a consumer the broker refused ends with its error.
async fn next(consumer: &mut Consumer) -> Result<Delivery, Error> {
    match consumer.next().await {
        Some(delivery) => Ok(delivery?),
        None => Err("the consumer ended".into()),
    }
}

/// Waits until RabbitMQ accepted `consumer`'s subscription on `connection`.
async fn ready(connection: &mut ReliableConnection, consumer: &Consumer) -> Result<(), Error> {
    while let Some(event) = connection.next_event().await {
        match event {
            ConnectionEvent::ConsumerReady(key) if key == consumer.key() => return Ok(()),
            ConnectionEvent::ConsumerFailed { error, .. } => return Err(error.into()),
            ConnectionEvent::Stopped(reason) => return Err(reason.into()),
            _ => {}
        }
    }
    Err("the connection's events ended".into())
}
