//! Burrow's STOMP frame decoder on its own, for measuring (`FrameDecoder` in
//! `npm/index.js`, which checks what it is given).

use wasm_bindgen::prelude::*;

use super::errors::error;
use crate::stomp::{Decoded, Decoder, Limits};

/// Push the bytes of each WebSocket message; whole frames are decoded (command,
/// headers, body) as the connection decodes them. It holds nothing but its own
/// buffer, so the garbage collector may free it whenever it likes.
#[wasm_bindgen(js_name = FrameDecoder)]
pub struct JsFrameDecoder {
    decoder: Decoder,
}

impl Default for JsFrameDecoder {
    fn default() -> Self {
        JsFrameDecoder::new()
    }
}

#[wasm_bindgen(js_class = FrameDecoder)]
impl JsFrameDecoder {
    /// A decoder with the default limits (128 MiB bodies, 1 MiB a header line).
    #[wasm_bindgen(constructor)]
    pub fn new() -> JsFrameDecoder {
        JsFrameDecoder { decoder: Decoder::new(Limits::default()) }
    }

    /// Takes one chunk; returns how many whole frames it completed (heart-beats
    /// not counted). Throws `MalformedFrameError` on bytes that are not STOMP.
    pub fn push(&mut self, chunk: &[u8]) -> Result<u32, JsValue> {
        self.decoder.push(chunk);
        let mut frames = 0;
        loop {
            match self.decoder.next_item() {
                Ok(Some(Decoded::Frame(frame))) => {
                    frames += 1;
                    // Decoded in full, as the connection hands frames on; only counted here.
                    drop(frame);
                }
                Ok(Some(Decoded::HeartBeat)) => {}
                Ok(None) => return Ok(frames),
                Err(e) => return Err(error("MalformedFrame", e)),
            }
        }
    }
}
