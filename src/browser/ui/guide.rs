//! The tutorial's four steps as guided scenarios: what it is, the pika code, and
//! buttons that do it with the workbench, with what to watch.

use yew::prelude::*;

use crate::rabbit::QueueOptions;

use super::actions;
use super::state::{Action, Workbench};

/// One button of a scenario.
#[derive(Clone, Copy, PartialEq)]
enum Step {
    Declare(&'static str, bool),
    Publish(&'static str, &'static str, bool, u32),
    Consume(&'static str, bool, u16),
    CrashFirst(&'static str),
}

struct Scenario {
    title: &'static str,
    explain: &'static str,
    pika: &'static str,
    steps: &'static [(&'static str, Step)],
    watch: &'static str,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        title: "1. Hello World",
        explain: "One producer sends one message to a queue; one consumer receives it. Names and bodies can be Chinese.",
        pika: "channel.queue_declare(queue='水续传')\nchannel.basic_publish(exchange='', routing_key='水续传', body='大郎 起来喝药了')\nchannel.basic_consume(queue='水续传', on_message_callback=callback, auto_ack=True)",
        steps: &[
            ("Declare 水续传", Step::Declare("水续传", false)),
            ("Publish 大郎 起来喝药了", Step::Publish("水续传", "大郎 起来喝药了", false, 1)),
            ("Add an auto-ack consumer", Step::Consume("水续传", true, 0)),
        ],
        watch: "The consumer card shows the body as sent; the queue's ready count drops to 0.",
    },
    Scenario {
        title: "2. Work queues",
        explain: "One producer, several consumers: RabbitMQ hands messages out in turn (round-robin).",
        pika: "channel.queue_declare(queue='task_queue')\nfor i in range(10):\n    channel.basic_publish(exchange='', routing_key='task_queue', body=f'task {i}')",
        steps: &[
            ("Declare task_queue", Step::Declare("task_queue", false)),
            ("Add consumer", Step::Consume("task_queue", true, 0)),
            ("Add another consumer", Step::Consume("task_queue", true, 0)),
            ("Publish 10 tasks", Step::Publish("task_queue", "task", false, 10)),
        ],
        watch: "Each consumer gets every other task: #1, #3, #5… and #2, #4, #6…",
    },
    Scenario {
        title: "3. Acknowledgements",
        explain: "A consumer that dies before basic_ack loses nothing: its message goes back to the queue and to another consumer, marked redelivered.",
        pika: "channel.basic_qos(prefetch_count=1)\ndef callback(ch, method, properties, body):\n    raise Exception('crash before ack')\nchannel.basic_consume(queue='ack_demo', on_message_callback=callback)",
        steps: &[
            ("Declare ack_demo", Step::Declare("ack_demo", false)),
            ("Add consumer A (manual ack, prefetch 1)", Step::Consume("ack_demo", false, 1)),
            ("Publish one task", Step::Publish("ack_demo", "important work", false, 1)),
            ("Add consumer B (manual ack, prefetch 1)", Step::Consume("ack_demo", false, 1)),
            ("Crash consumer A", Step::CrashFirst("ack_demo")),
        ],
        watch: "A holds the message unacked (queue figure: unacked 1). After the crash B gets it with a “redelivered” mark; ack it and the queue is empty.",
    },
    Scenario {
        title: "4. Durable queues, persistent messages",
        explain: "A durable queue survives a broker restart, and so do its persistent (delivery_mode=2) messages; transient ones do not. An existing queue cannot change its durability: RabbitMQ refuses the redeclare.",
        pika: "channel.queue_declare(queue='task_queue_durable', durable=True)\nchannel.basic_publish(exchange='', routing_key='task_queue_durable', body='saved',\n    properties=pika.BasicProperties(delivery_mode=2))",
        steps: &[
            ("Declare task_queue_durable (durable)", Step::Declare("task_queue_durable", true)),
            ("Publish 3 persistent", Step::Publish("task_queue_durable", "persistent", true, 3)),
            ("Publish 2 transient", Step::Publish("task_queue_durable", "transient", false, 2)),
            ("Redeclare it as not durable", Step::Declare("task_queue_durable", false)),
        ],
        watch: "Restart the broker (sudo rabbitmqctl stop_app; sudo rabbitmqctl start_app), connect again and add a consumer on task_queue_durable: only the 3 persistent messages are there. The redeclare is refused in words next to the queue form.",
    },
];

/// The four guided scenarios, one open at a time.
#[function_component(Guide)]
pub fn guide() -> Html {
    let workbench = use_context::<Workbench>();
    let open = use_state(|| 0usize);
    let Some(workbench) = workbench else { return html! {} };
    let connected = workbench.connected;

    let run = |step: Step| {
        let workbench = workbench.clone();
        Callback::from(move |_: MouseEvent| match step {
            Step::Declare(queue, durable) => {
                let options = QueueOptions { durable, ..QueueOptions::default() };
                actions::declare(workbench.clone(), queue.to_owned(), options);
            }
            Step::Publish(queue, body, persistent, count) => {
                workbench.dispatch(Action::SetQueue(queue.to_owned()));
                actions::publish(workbench.clone(), queue.to_owned(), body.to_owned(), persistent, count);
            }
            Step::Consume(queue, auto_ack, prefetch) => {
                workbench.dispatch(Action::SetQueue(queue.to_owned()));
                workbench.dispatch(Action::AddConsumer {
                    queue: queue.to_owned(),
                    auto_ack,
                    prefetch,
                    stream_offset: None,
                });
            }
            Step::CrashFirst(queue) => {
                let first = workbench.consumers.iter().find(|c| c.queue == queue && !c.crash_requested);
                if let Some(spec) = first {
                    workbench.dispatch(Action::CrashConsumer(spec.number));
                }
            }
        })
    };

    html! {
        <section class="card guide" aria-label="Guided tutorial">
            <h2>{ "The tutorial, step by step" }</h2>
            <div class="tabs" role="tablist">
                { for SCENARIOS.iter().enumerate().map(|(i, scenario)| {
                    let open = open.clone();
                    html! {
                        <button type="button" role="tab" aria-selected={(i == *open).to_string()}
                            class={classes!("tab", (i == *open).then_some("selected"))}
                            onclick={Callback::from(move |_| open.set(i))}>{ scenario.title }</button>
                    }
                }) }
            </div>
            if let Some(scenario) = SCENARIOS.get(*open) {
                <div role="tabpanel" aria-label={scenario.title}>
                    <p>{ scenario.explain }</p>
                    <pre class="code" aria-label="The pika code"><code>{ scenario.pika }</code></pre>
                    <div class="steps">
                        { for scenario.steps.iter().map(|(label, step)| html! {
                            <button type="button" disabled={!connected} onclick={run(*step)}>{ *label }</button>
                        }) }
                    </div>
                    <p class="watch"><strong>{ "Watch: " }</strong>{ scenario.watch }</p>
                    if !connected { <p class="muted">{ "Connect first (the form below)." }</p> }
                </div>
            }
        </section>
    }
}
