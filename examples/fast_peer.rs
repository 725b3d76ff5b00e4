//! A fast local STOMP-over-WebSocket peer for the browser benchmark (`bench/`):
//! it takes RabbitMQ's place so that a client's own ceiling can be measured.
//!
//! `cargo build --release --example fast_peer --locked`, then
//! `target/release/examples/fast_peer [ADDR]` (default 127.0.0.1:15699; any path,
//! e.g. ws://127.0.0.1:15699/ws).
//!
//! It speaks just enough STOMP 1.2, by byte scanning (this is a test peer, not a
//! broker; header values are not unescaped):
//! - CONNECT/STOMP: CONNECTED with `heart-beat:0,0`; no login is checked.
//! - SEND: counted; a `receipt` header is answered at once with RECEIPT.
//! - SUBSCRIBE: streams MESSAGE frames (subscription, destination, message-id,
//!   redelivered, ack, content-length: RabbitMQ 3.10's headers in its order, and its
//!   EOL after each frame; no `ack` header for an `ack:auto` subscription, as
//!   Web-STOMP sends none) as fast as the socket takes them. How many,
//!   and how big, come from the destination's last segment, e.g.
//!   `/amq/queue/peer-n100000-s100-f1`: `n` messages (default 0: none), bodies of
//!   `s` bytes (default 100), `f` frames per WebSocket message (default 1, as
//!   RabbitMQ Web-STOMP sends them; 0 packs up to 16 KiB per WebSocket message).
//!   Headers `x-count`, `x-size` and `x-frames` override these. Prefetch is ignored.
//! - ACK/NACK: counted. UNSUBSCRIBE stops the stream. DISCONNECT: RECEIPT, then close.
//! - Heart-beat EOLs between frames are skipped; one WebSocket message may carry
//!   many frames, and a frame may span WebSocket messages, both ways.
//!
//! When a connection ends it prints one JSON line to stdout with what it saw, so
//! the benchmark can check that every SEND and ACK arrived.

// The example is built by `cargo test` for every target; the peer itself is native only.
#[cfg(not(target_arch = "wasm32"))]
mod peer {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::mpsc;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
    use tokio_tungstenite::tungstenite::http::HeaderValue;
    use tokio_tungstenite::tungstenite::Message;

    const DEFAULT_ADDR: &str = "127.0.0.1:15699";
    const PACK_BYTES: usize = 16 * 1024;

    #[derive(Default)]
    struct Stats {
        sends: AtomicU64,
        send_body_bytes: AtomicU64,
        receipts: AtomicU64,
        acks: AtomicU64,
        nacks: AtomicU64,
        messages: AtomicU64,
        ws_in: AtomicU64,
        ws_out: AtomicU64,
    }

    struct Frame<'a> {
        command: &'a [u8],
        headers: Vec<(&'a [u8], &'a [u8])>,
        body: &'a [u8],
    }

    impl Frame<'_> {
        /// The first occurrence wins, as STOMP 1.2 says.
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| *k == name.as_bytes())
                .and_then(|(_, v)| std::str::from_utf8(v).ok())
        }
    }

    fn find(hay: &[u8], byte: u8) -> Option<usize> {
        hay.iter().position(|&b| b == byte)
    }

    fn trim_cr(line: &[u8]) -> &[u8] {
        line.strip_suffix(b"\r").unwrap_or(line)
    }

    /// Parses one frame at the start of `buf` (after any heart-beat EOLs).
    /// Ok(None): incomplete. Ok(Some((frame, used))): `used` bytes consumed.
    fn next_frame(buf: &[u8]) -> Result<Option<(Option<Frame<'_>>, usize)>, String> {
        let mut pos = 0;
        while pos < buf.len() && (buf[pos] == b'\n' || buf[pos] == b'\r') {
            pos += 1;
        }
        if pos == buf.len() {
            return Ok(if pos > 0 { Some((None, pos)) } else { None });
        }
        let mut lines = Vec::new();
        loop {
            let Some(nl) = find(&buf[pos..], b'\n') else {
                return Ok(None);
            };
            let line = trim_cr(&buf[pos..pos + nl]);
            pos += nl + 1;
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        let command = lines[0];
        let mut headers = Vec::with_capacity(lines.len() - 1);
        for line in &lines[1..] {
            let colon = find(line, b':').ok_or_else(|| {
                format!(
                    "header without a colon: {:?}",
                    String::from_utf8_lossy(line)
                )
            })?;
            headers.push((&line[..colon], &line[colon + 1..]));
        }
        let length = headers
            .iter()
            .find(|(k, _)| *k == b"content-length")
            .map(|(_, v)| {
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| "bad content-length".to_string())
            })
            .transpose()?;
        let body_end = match length {
            Some(n) => {
                if buf.len() < pos + n + 1 {
                    return Ok(None);
                }
                if buf[pos + n] != 0 {
                    return Err("no NUL after content-length bytes".into());
                }
                pos + n
            }
            None => match find(&buf[pos..], 0) {
                Some(i) => pos + i,
                None => return Ok(None),
            },
        };
        let frame = Frame {
            command,
            headers,
            body: &buf[pos..body_end],
        };
        Ok(Some((Some(frame), body_end + 1)))
    }

    /// Count, body size and frames per WebSocket message from the destination's last
    /// segment (`peer-n1000-s100-f1`), overridden by x-count / x-size / x-frames.
    fn stream_params(frame: &Frame) -> (u64, usize, usize) {
        let (mut n, mut s, mut f) = (0u64, 100usize, 1usize);
        let dest = frame.header("destination").unwrap_or("");
        let last = dest.rsplit('/').next().unwrap_or("");
        for part in last.split(['-', '.', '_']) {
            let (key, digits) = part.split_at(part.len().min(1));
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            match key {
                "n" => n = digits.parse().unwrap_or(n),
                "s" => s = digits.parse().unwrap_or(s),
                "f" => f = digits.parse().unwrap_or(f),
                _ => {}
            }
        }
        if let Some(v) = frame.header("x-count").and_then(|v| v.parse().ok()) {
            n = v;
        }
        if let Some(v) = frame.header("x-size").and_then(|v| v.parse().ok()) {
            s = v;
        }
        if let Some(v) = frame.header("x-frames").and_then(|v| v.parse().ok()) {
            f = v;
        }
        (n, s, f)
    }

    fn push_frame(out: &mut Vec<u8>, command: &str, headers: &[(&str, &str)], body: &[u8]) {
        out.extend_from_slice(command.as_bytes());
        out.push(b'\n');
        for (k, v) in headers {
            out.extend_from_slice(k.as_bytes());
            out.push(b':');
            out.extend_from_slice(v.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(body);
        // RabbitMQ follows every frame with an EOL; so does this peer.
        out.extend_from_slice(b"\0\n");
    }

    #[allow(clippy::too_many_arguments)]
    async fn stream_messages(
        tx: mpsc::Sender<Vec<u8>>,
        stop: Arc<AtomicBool>,
        stats: Arc<Stats>,
        session: String,
        sub: String,
        destination: String,
        count: u64,
        size: usize,
        frames_per_ws: usize,
        ack_header: bool,
    ) {
        let body: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        // As RabbitMQ Web-STOMP words it: /amq/queue/q comes back as /queue/q.
        let destination = match destination.strip_prefix("/amq/queue/") {
            Some(q) => format!("/queue/{q}"),
            None => destination,
        };
        let head_prefix = format!("MESSAGE\nsubscription:{sub}\ndestination:{destination}\nmessage-id:T_{sub}@@session-{session}@@");
        let mut out = Vec::with_capacity(PACK_BYTES + size + 256);
        let mut in_batch = 0usize;
        for i in 1..=count {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            out.extend_from_slice(head_prefix.as_bytes());
            out.extend_from_slice(i.to_string().as_bytes());
            out.extend_from_slice(b"\nredelivered:false");
            if ack_header {
                out.extend_from_slice(b"\nack:T_");
                out.extend_from_slice(sub.as_bytes());
                out.extend_from_slice(b"@@session-");
                out.extend_from_slice(session.as_bytes());
                out.extend_from_slice(b"@@");
                out.extend_from_slice(i.to_string().as_bytes());
            }
            out.extend_from_slice(b"\ncontent-length:");
            out.extend_from_slice(size.to_string().as_bytes());
            out.extend_from_slice(b"\n\n");
            out.extend_from_slice(&body);
            out.extend_from_slice(b"\0\n");
            in_batch += 1;
            let full = if frames_per_ws == 0 {
                out.len() >= PACK_BYTES
            } else {
                in_batch >= frames_per_ws
            };
            if full {
                let batch =
                    std::mem::replace(&mut out, Vec::with_capacity(PACK_BYTES + size + 256));
                if tx.send(batch).await.is_err() {
                    return;
                }
                stats.messages.fetch_add(in_batch as u64, Ordering::Relaxed);
                in_batch = 0;
            }
        }
        if !out.is_empty() && tx.send(out).await.is_ok() {
            stats.messages.fetch_add(in_batch as u64, Ordering::Relaxed);
        }
    }

    async fn handle(stream: TcpStream, conn: u64) -> Result<Arc<Stats>, String> {
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        // Pick v12.stomp when the client offers it (stompjs does); none is fine too.
        #[allow(clippy::result_large_err)] // the error type is tungstenite's callback's
        let choose = |req: &Request, mut resp: Response| {
            let offered = req
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if let Some(p) = offered
                .split(',')
                .map(str::trim)
                .find(|p| p.starts_with("v12.stomp"))
            {
                resp.headers_mut()
                    .insert("sec-websocket-protocol", HeaderValue::from_str(p).unwrap());
            }
            Ok(resp)
        };
        let ws = tokio_tungstenite::accept_hdr_async(stream, choose)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (mut sink, mut source) = ws.split();
        let stats = Arc::new(Stats::default());
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);

        let writer_stats = stats.clone();
        let writer = tokio::spawn(async move {
            // Feed whatever is queued, then flush once: one syscall for many messages.
            while let Some(first) = rx.recv().await {
                let mut n = 1;
                if sink.feed(Message::binary(first)).await.is_err() {
                    return;
                }
                while let Ok(more) = rx.try_recv() {
                    n += 1;
                    if sink.feed(Message::binary(more)).await.is_err() {
                        return;
                    }
                }
                writer_stats.ws_out.fetch_add(n, Ordering::Relaxed);
                if sink.flush().await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });

        let session = format!("fastpeer{conn}");
        let mut subs: HashMap<String, Arc<AtomicBool>> = HashMap::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut closing = false;
        while let Some(msg) = source.next().await {
            let msg = match msg {
                Ok(m) => m,
                Err(_) => break,
            };
            match msg {
                Message::Binary(b) => buf.extend_from_slice(&b),
                Message::Text(t) => buf.extend_from_slice(t.as_bytes()),
                Message::Close(_) => break,
                _ => continue,
            }
            stats.ws_in.fetch_add(1, Ordering::Relaxed);
            let mut out = Vec::new();
            let mut used = 0;
            loop {
                let (frame, n) = match next_frame(&buf[used..]) {
                    Ok(Some(x)) => x,
                    Ok(None) => break,
                    Err(e) => {
                        push_frame(&mut out, "ERROR", &[("message", &e)], b"");
                        closing = true;
                        break;
                    }
                };
                used += n;
                let Some(frame) = frame else { continue };
                let receipt = frame.header("receipt").map(str::to_owned);
                match frame.command {
                    b"CONNECT" | b"STOMP" => push_frame(
                        &mut out,
                        "CONNECTED",
                        &[
                            ("server", "burrow-fast-peer/0.1"),
                            ("session", &session),
                            ("heart-beat", "0,0"),
                            ("version", "1.2"),
                        ],
                        b"",
                    ),
                    b"SEND" => {
                        stats.sends.fetch_add(1, Ordering::Relaxed);
                        stats
                            .send_body_bytes
                            .fetch_add(frame.body.len() as u64, Ordering::Relaxed);
                    }
                    b"SUBSCRIBE" => {
                        let sub = frame.header("id").unwrap_or("0").to_owned();
                        let destination = frame.header("destination").unwrap_or("").to_owned();
                        let (count, size, frames_per_ws) = stream_params(&frame);
                        // STOMP's default is ack:auto, for which Web-STOMP sends no ack header.
                        let ack_header = frame.header("ack").is_some_and(|ack| ack != "auto");
                        let stop = Arc::new(AtomicBool::new(false));
                        subs.insert(sub.clone(), stop.clone());
                        tokio::spawn(stream_messages(
                            tx.clone(),
                            stop,
                            stats.clone(),
                            session.clone(),
                            sub,
                            destination,
                            count,
                            size,
                            frames_per_ws,
                            ack_header,
                        ));
                    }
                    b"UNSUBSCRIBE" => {
                        if let Some(stop) = frame.header("id").and_then(|id| subs.remove(id)) {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    b"ACK" => {
                        stats.acks.fetch_add(1, Ordering::Relaxed);
                    }
                    b"NACK" => {
                        stats.nacks.fetch_add(1, Ordering::Relaxed);
                    }
                    b"DISCONNECT" => closing = true,
                    b"BEGIN" | b"COMMIT" | b"ABORT" => {}
                    other => {
                        let what =
                            format!("unsupported command {}", String::from_utf8_lossy(other));
                        push_frame(&mut out, "ERROR", &[("message", &what)], b"");
                        closing = true;
                    }
                }
                if let Some(id) = receipt {
                    stats.receipts.fetch_add(1, Ordering::Relaxed);
                    push_frame(&mut out, "RECEIPT", &[("receipt-id", &id)], b"");
                }
                if closing {
                    break;
                }
            }
            buf.drain(..used);
            if !out.is_empty() && tx.send(out).await.is_err() {
                break;
            }
            if closing {
                break;
            }
        }
        for stop in subs.values() {
            stop.store(true, Ordering::Relaxed);
        }
        drop(tx);
        // The writer ends once every streamer has let go of its sender.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer).await;
        Ok(stats)
    }

    #[tokio::main(flavor = "current_thread")]
    pub async fn run() {
        let addr = std::env::args()
            .nth(1)
            .or_else(|| std::env::var("FAST_PEER_ADDR").ok())
            .unwrap_or_else(|| DEFAULT_ADDR.to_string());
        let listener = match TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fast_peer: cannot listen on {addr}: {e}");
                std::process::exit(1);
            }
        };
        println!("{{\"listening\":\"ws://{addr}/ws\"}}");
        let mut next = 0u64;
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    eprintln!("fast_peer: accept: {e}");
                    continue;
                }
            };
            next += 1;
            let conn = next;
            tokio::spawn(async move {
                match handle(stream, conn).await {
                    Ok(s) => println!(
                        "{{\"conn\":{conn},\"sends\":{},\"send_body_bytes\":{},\"receipts\":{},\"acks\":{},\"nacks\":{},\"messages\":{},\"ws_in\":{},\"ws_out\":{}}}",
                        s.sends.load(Ordering::Relaxed),
                        s.send_body_bytes.load(Ordering::Relaxed),
                        s.receipts.load(Ordering::Relaxed),
                        s.acks.load(Ordering::Relaxed),
                        s.nacks.load(Ordering::Relaxed),
                        s.messages.load(Ordering::Relaxed),
                        s.ws_in.load(Ordering::Relaxed),
                        s.ws_out.load(Ordering::Relaxed),
                    ),
                    Err(e) => println!("{{\"conn\":{conn},\"error\":{:?}}}", e),
                }
            });
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    peer::run();
}

#[cfg(target_arch = "wasm32")]
fn main() {}
