//! One wasm per layer (`--features ws|codec|session|link|core`): a WebSocket whose
//! messages go through that layer of the library and back, so the layer is kept
//! whole by the linker. The sizes are a floor: the core is driven only as far as
//! a consumer and a publish take it.

#![allow(unused)] // each layer uses a part

use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! { static STATE: RefCell<State> = RefCell::new(State::new()); }

#[allow(dead_code)]
struct State {
    #[cfg(feature = "codec")] dec: burrow::stomp::Decoder,
    #[cfg(feature = "session")] s: burrow::client::Session,
    #[cfg(feature = "link")] l: burrow::rabbit::Link,
    #[cfg(feature = "core")] c: burrow::reliable::Core,
    n: u32,
}
impl State {
    fn new() -> Self {
        State {
            #[cfg(feature = "codec")] dec: burrow::stomp::Decoder::new(burrow::stomp::Limits::default()),
            #[cfg(feature = "session")] s: burrow::client::Session::new(burrow::client::ConnectOptions::new("/")),
            #[cfg(feature = "link")] l: burrow::rabbit::Link::new(burrow::client::ConnectOptions::new("/"), burrow::stomp::Limits::default()),
            #[cfg(feature = "core")] c: burrow::reliable::Core::new(vec!["ws://x/ws".into()], burrow::client::ConnectOptions::new("/"), burrow::reliable::ReliableOptions::default(), 3),
            n: 0,
        }
    }
}

fn feed(bytes: &[u8], now: f64) -> Vec<u8> {
    let now = Duration::from_millis(now as u64);
    STATE.with(|st| {
        let mut st = st.borrow_mut();
        let mut out = Vec::new();
        #[cfg(feature = "codec")]
        {
            st.dec.push(bytes);
            while let Ok(Some(item)) = st.dec.next_item() {
                if let burrow::stomp::Decoded::Frame(f) = item { let _ = burrow::stomp::encode(&f, &mut out); }
            }
        }
        #[cfg(feature = "session")]
        {
            if bytes.is_empty() { st.s.connect(now); }
            let mut dec = burrow::stomp::Decoder::new(burrow::stomp::Limits::default());
            dec.push(bytes);
            while let Ok(Some(burrow::stomp::Decoded::Frame(f))) = dec.next_item() { st.s.handle_frame(now, f); }
            st.s.handle_timeout(now);
            while let Some(t) = st.s.poll_transmit() { if let burrow::client::Transmit::Frame(f) = t { let _ = burrow::stomp::encode(&f, &mut out); } else { out.push(10); } }
            while st.s.poll_event().is_some() { st.n += 1; }
        }
        #[cfg(feature = "link")]
        {
            if bytes.is_empty() { st.l.handle_open(now); let _ = st.l.channel_mut().basic_consume(now, "q", Default::default(), None); }
            st.l.handle_bytes(now, bytes);
            st.l.handle_timeout(now);
            st.l.write_transmits(&mut out);
            while st.l.poll_event().is_some() { st.n += 1; }
        }
        #[cfg(feature = "core")]
        {
            if bytes.is_empty() { st.c.start(now); let _ = st.c.basic_consume(now, burrow::rabbit::ConsumeFrom::Queue("q".into()), Default::default());
                let _ = st.c.basic_publish(now, burrow::rabbit::PendingPublish { exchange: String::new(), routing_key: "q".into(), body: bytes.to_vec(), properties: Default::default() }); }
            while let Some(a) = st.c.poll_action() { if let burrow::reliable::Action::Open { link, .. } = a { st.c.handle_opened(now, link); } }
            st.c.handle_bytes(now, burrow::reliable::LinkId(1), bytes);
            st.c.handle_timeout(now);
            while st.c.poll_transmit(now, &mut out).is_some() {}
            while st.c.poll_event().is_some() { st.n += 1; }
        }
        #[cfg(not(any(feature = "codec", feature = "session", feature = "link", feature = "core")))]
        out.extend_from_slice(bytes);
        out
    })
}

#[wasm_bindgen]
pub fn open(url: &str) -> Result<(), JsValue> {
    let ws = web_sys::WebSocket::new_with_str_sequence(url, &js_sys::Array::of1(&"v12.stomp".into()))?;
    ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
    let sock = ws.clone();
    let on = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
        if let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() {
            let out = feed(&js_sys::Uint8Array::new(&buf).to_vec(), js_sys::Date::now());
            let _ = sock.send_with_u8_array(&out);
        }
    });
    ws.set_onmessage(Some(on.as_ref().unchecked_ref()));
    on.forget();
    let out = feed(&[], js_sys::Date::now());
    let _ = ws.send_with_u8_array(&out);
    Ok(())
}
