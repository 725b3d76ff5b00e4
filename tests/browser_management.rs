//! The management API client's pure parts, in the browser (it exists on wasm32
//! only): reading the API's JSON, and where the API is for a Web-STOMP URL. No
//! broker needed.
#![cfg(target_arch = "wasm32")]

use burrow::client::ConnectOptions;
use burrow::management::{default_base_url, ManagementApi, ManagementError, PeekedMessage, QueueState, QueueStateError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn queue_figures_show_a_quorum_queue_s_leader_and_members() {
    let json = r#"{"name":"orders","durable":true,"exclusive":false,"auto_delete":false,
        "arguments":{"x-queue-type":"quorum"},"type":"quorum","leader":"burrow-c2@localhost",
        "members":["burrow-c1@localhost","burrow-c2@localhost","burrow-c3@localhost"],
        "online":["burrow-c2@localhost","burrow-c3@localhost"],"node":"burrow-c2@localhost",
        "messages_ready":5,"messages_unacknowledged":1,"consumers":1,
        "consumer_details":[{"channel_details":{"connection_name":"127.0.0.1:5000 -> 127.0.0.1:15692"}}]}"#;
    let state = QueueState::from_management_json(json).unwrap();
    assert_eq!(state.queue_type, "quorum");
    assert_eq!(state.leader.as_deref(), Some("burrow-c2@localhost"));
    assert_eq!(state.members.len(), 3);
    assert_eq!(state.online, ["burrow-c2@localhost", "burrow-c3@localhost"]);
    assert_eq!(state.node.as_deref(), Some("burrow-c2@localhost"));
    assert_eq!(state.consumer_connections, ["127.0.0.1:5000 -> 127.0.0.1:15692"]);
    // A stream has no leader field (null); a classic queue no members.
    let stream = r#"{"name":"s","type":"stream","leader":null,"members":["rabbit@vm"],"node":"rabbit@vm"}"#;
    let state = QueueState::from_management_json(stream).unwrap();
    assert_eq!((state.queue_type.as_str(), state.leader, state.members.len()), ("stream", None, 1));
    let classic = QueueState::from_management_json(r#"{"name":"c","type":"classic","node":"rabbit@vm"}"#).unwrap();
    assert!(classic.members.is_empty() && classic.leader.is_none());
}

/// The answers read with the browser's own `JSON`: rates and counts from nested
/// members, arguments and headers of any JSON type as text, sorted by name;
/// what is not JSON or not a list said so.
#[wasm_bindgen_test]
fn management_json_is_read_field_by_field_and_refused_in_words() {
    let json = r#"{"name":"水续传","durable":true,"messages_ready":3,"consumers":1.5,
        "arguments":{"x-queue-type":"classic","x-max-length":10,"x-dead":null},
        "message_stats":{"publish_details":{"rate":2.5},"deliver_get_details":{"rate":0}}}"#;
    let state = QueueState::from_management_json(json).unwrap();
    assert_eq!((state.name.as_str(), state.durable, state.messages_ready), ("水续传", true, 3));
    assert_eq!(state.consumers, 0, "a fraction is not a count");
    assert_eq!((state.publish_rate, state.deliver_rate), (2.5, 0.0));
    let arguments: Vec<(&str, &str)> = state.arguments.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(arguments, [("x-dead", "null"), ("x-max-length", "10"), ("x-queue-type", "classic")]);
    let peeked = PeekedMessage::list_from_management_json(
        r#"[{"payload":"大郎 起来喝药了","payload_encoding":"string","payload_bytes":22,"message_count":2,
            "properties":{"priority":3,"headers":{"b":{"n":[1,true]},"a":"x"},"delivery_mode":2}}]"#,
    )
    .unwrap();
    assert_eq!(peeked[0].body, "大郎 起来喝药了");
    assert_eq!((peeked[0].size, peeked[0].remaining, peeked[0].base64), (22, 2, false));
    assert_eq!(peeked[0].properties, [("delivery_mode".to_owned(), "2".to_owned()), ("priority".to_owned(), "3".to_owned())]);
    assert_eq!(peeked[0].headers, [("a".to_owned(), "x".to_owned()), ("b".to_owned(), r#"{"n":[1,true]}"#.to_owned())]);
    assert!(matches!(QueueState::from_management_json("<html>"), Err(QueueStateError::NotJson(words)) if !words.is_empty()));
    assert_eq!(QueueState::list_from_management_json(r#"{"name":"q"}"#), Err(QueueStateError::NotAList));
    assert_eq!(QueueState::from_management_json(r#"{"durable":true}"#), Err(QueueStateError::Unnamed));
    assert_eq!(QueueState::from_management_json("[]"), Err(QueueStateError::Unnamed));
}

/// Regression (QA): in an outage the queue panels said only "the management API
/// answered HTTP 500 with no reason given" (trunk's proxy, RabbitMQ being down).
#[wasm_bindgen_test]
fn an_empty_server_error_says_rabbitmq_may_be_down() {
    let status = |status: u16, body: &str| ManagementError::Status { status, body: body.to_owned() }.to_string();
    for code in [500, 502, 503, 504] {
        assert!(status(code, "").contains("RabbitMQ may be down or restarting"), "{}", status(code, ""));
    }
    assert_eq!(status(500, "{\"error\":\"x\"}"), "the management API answered HTTP 500: {\"error\":\"x\"}");
    assert_eq!(status(400, " "), "the management API answered HTTP 400 with no reason given");
    // QA: a same-origin path the page's own server answered put its whole HTML page in the words.
    assert_eq!(
        status(501, "<!DOCTYPE HTML>\n<html lang=\"en\"><title>Error response</title>"),
        "the management API answered HTTP 501 with a web page, not RabbitMQ's answer: is the address its management API?"
    );
    assert!(status(502, "<html>Bad Gateway</html>").contains("RabbitMQ may be down"));
}

#[wasm_bindgen_test]
fn the_management_api_is_found_from_the_web_stomp_url_or_given() {
    assert_eq!(default_base_url("ws://127.0.0.1:15674/ws").as_deref(), Some("http://127.0.0.1:15672/api"));
    assert_eq!(default_base_url("ws://127.0.0.1:8080/ws").as_deref(), Some("http://127.0.0.1:8080/api"));
    assert_eq!(default_base_url("wss://rabbit.example/ws").as_deref(), Some("https://rabbit.example/api"));
    assert_eq!(default_base_url("http://x/ws"), None);
    assert_eq!(default_base_url("ws://"), None);
    // A cluster's node on its own ports: only a given address finds it.
    let options = ConnectOptions::new("/").with_credentials("burrow", "burrow");
    let given = ManagementApi::for_connection("ws://127.0.0.1:15692/ws", Some("http://127.0.0.1:15682/api/"), &options);
    assert_eq!(format!("{given:?}"), r#"Some(ManagementApi { base: "http://127.0.0.1:15682/api", .. })"#);
    assert!(ManagementApi::for_connection("http://x/ws", None, &options).is_none());
}
