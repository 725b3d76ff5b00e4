//! A TCP proxy in front of Web-STOMP that the test turns on and off: while off
//! it accepts and drops every connection (the page sees its socket fail and
//! counts down to the next attempt); while on it forwards to the broker. It
//! counts the connections it accepts, so a test sees any attempt the page makes.
//! [`Proxy::cut_silently`] cuts the connections it forwards as a network that
//! drops does: nothing more passes either way and neither end hears a close.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

/// Where the proxy forwards to: Web-STOMP.
const BROKER: &str = "127.0.0.1:15674";

/// A running proxy; it stops when dropped.
pub struct Proxy {
    /// Its port on 127.0.0.1.
    pub port: u16,
    forwarding: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    /// Bumped by each silent cut; dropped with the proxy, which ends the cut connections.
    cuts: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy that drops every connection until [`Proxy::forward`].
    pub async fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let port = listener.local_addr().expect("its address").port();
        let forwarding = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (on, count) = (forwarding.clone(), accepted.clone());
        let (cuts, watch) = tokio::sync::watch::channel(0);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                if on.load(Ordering::SeqCst) {
                    tokio::spawn(pipe(client, watch.clone()));
                } else {
                    drop(client);
                }
            }
        });
        Proxy { port, forwarding, accepted, cuts, task }
    }

    /// From now on, connections reach the broker.
    pub fn forward(&self) {
        self.forwarding.store(true, Ordering::SeqCst);
    }

    /// Cuts every connection it forwards now, silently: their sockets stay open
    /// and nothing passes (the page finds out by its heart-beats, the broker by
    /// its own). Connections made afterwards are forwarded.
    pub fn cut_silently(&self) {
        self.cuts.send_modify(|cuts| *cuts += 1);
    }

    /// How many connections it accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Forwards `client` to the broker until either end closes, or until a cut,
/// after which both sockets are held, silent, until the proxy is dropped.
async fn pipe(mut client: TcpStream, mut cuts: tokio::sync::watch::Receiver<u64>) {
    cuts.borrow_and_update();
    if let Ok(mut broker) = TcpStream::connect(BROKER).await {
        tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut broker) => return,
            cut = cuts.changed() => if cut.is_err() { return },
        }
        // Ends (and closes both) when the proxy is dropped.
        while cuts.changed().await.is_ok() {}
    }
}
