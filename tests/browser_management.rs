//! The management API client's pure parts, in the browser (it exists on wasm32
//! only): reading the API's JSON, and where the API is for a Web-STOMP URL. No
//! broker needed.
#![cfg(target_arch = "wasm32")]

use burrow::client::ConnectOptions;
use burrow::management::{default_base_url, ManagementApi, QueueState};
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
