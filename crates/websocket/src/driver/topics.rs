//! Topics: publish/subscribe fan-out done in Rust.
//!
//! A publish frames the message once (and compresses it once, for subscribers that
//! negotiated permessage-deflate: the server always answers `server_no_context_takeover`,
//! so one compressed frame is valid on every connection) and queues the same `Bytes` on
//! each subscriber: one call from JS reaches thousands of sockets, and no per-socket work
//! happens on the JS thread. A subscriber with more than `max_backpressure` bytes waiting
//! is skipped for that message (a slow reader must not grow the server's memory).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::conn::WsConn;
use crate::codec::shared_frame;

/// Subscribers by topic, then by connection id.
type TopicMap = HashMap<Arc<str>, HashMap<u64, Arc<WsConn>>>;

/// A set of topics and their subscribers.
pub struct Topics {
    map: Mutex<TopicMap>,
    /// Subscribers with more than this many bytes waiting miss a publish.
    max_backpressure: usize,
    /// Compression for shared frames: `(level, threshold)`.
    deflate: Option<(u32, usize)>,
}

/// What a publish did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    /// Subscribers the message was queued for.
    pub delivered: usize,
    /// Subscribers skipped because too much was already waiting for them.
    pub skipped: usize,
}

impl Topics {
    /// An empty registry.
    pub fn new(max_backpressure: usize, deflate: Option<(u32, usize)>) -> Self {
        Topics { map: Mutex::new(HashMap::new()), max_backpressure, deflate }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TopicMap> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribes `conn` to `topic`; false if it already was (or is closed).
    pub fn subscribe(&self, conn: &Arc<WsConn>, topic: &str) -> bool {
        if conn.is_closed() {
            return false;
        }
        let mut map = self.lock();
        let key: Arc<str> = match map.get_key_value(topic) {
            Some((k, _)) => k.clone(),
            None => Arc::from(topic),
        };
        let subs = map.entry(key.clone()).or_default();
        if subs.insert(conn.id(), conn.clone()).is_some() {
            return false;
        }
        conn.add_topic(key);
        true
    }

    /// Unsubscribes `conn` from `topic`; false if it was not subscribed.
    pub fn unsubscribe(&self, conn: &WsConn, topic: &str) -> bool {
        let mut map = self.lock();
        let Some(subs) = map.get_mut(topic) else { return false };
        if subs.remove(&conn.id()).is_none() {
            return false;
        }
        if subs.is_empty() {
            map.remove(topic);
        }
        conn.remove_topic(topic);
        true
    }

    /// Whether `conn` is subscribed to `topic`.
    pub fn is_subscribed(&self, conn: &WsConn, topic: &str) -> bool {
        self.lock().get(topic).is_some_and(|s| s.contains_key(&conn.id()))
    }

    /// Removes `conn` from every topic (it closed).
    pub fn remove(&self, conn: &WsConn) {
        let topics = conn.take_topics();
        if topics.is_empty() {
            return;
        }
        let mut map = self.lock();
        for t in topics {
            if let Some(subs) = map.get_mut(&t) {
                subs.remove(&conn.id());
                if subs.is_empty() {
                    map.remove(&t);
                }
            }
        }
    }

    /// Subscribers of `topic`.
    pub fn subscribers(&self, topic: &str) -> usize {
        self.lock().get(topic).map_or(0, |s| s.len())
    }

    /// Number of topics with at least one subscriber.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no topic has subscribers.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues one message for every subscriber of `topic` except `exclude`.
    pub fn publish(&self, topic: &str, text: bool, payload: &[u8], exclude: Option<u64>) -> Published {
        let mut plain: Option<Bytes> = None;
        // One compressed frame per window size the subscribers negotiated.
        let mut packed: [Option<Bytes>; 16] = Default::default();
        let mut out = Published::default();
        // Queued under the registry's lock: queueing only takes each connection's own
        // lock, which is never held while taking this one.
        let map = self.lock();
        let Some(subs) = map.get(topic) else { return out };
        for c in subs.values() {
            if Some(c.id()) == exclude {
                continue;
            }
            if c.buffered() > self.max_backpressure {
                out.skipped += 1;
                continue;
            }
            let frame = match (self.deflate, c.deflate_window()) {
                (Some((level, threshold)), Some(bits)) if payload.len() >= threshold => {
                    let bits = bits.clamp(8, 15);
                    &*packed[bits as usize].get_or_insert_with(|| shared_frame(text, payload, Some((level, bits))))
                }
                _ => &*plain.get_or_insert_with(|| shared_frame(text, payload, None)),
            };
            if c.send_frame(frame).is_ok() {
                out.delivered += 1;
            }
        }
        out
    }
}

impl std::fmt::Debug for Topics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topics").field("topics", &self.len()).finish()
    }
}
