//! What the native tests that drive a browser share: the processes they start
//! (trunk, chromedriver, a page server) and waiting for them to listen.
#![allow(dead_code)]

use std::net::TcpStream;
use std::process::Child;
use std::time::{Duration, Instant};

/// Child processes killed when the test ends, pass or fail.
pub struct Services(pub Vec<Child>);

impl Drop for Services {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits until something listens on `port`; fails the test after `limit`.
pub fn wait_for_port(port: u16, what: &str, limit: Duration) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < limit, "{what} did not listen on port {port} within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
