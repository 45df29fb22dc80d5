//! The per-origin connection pool: request queues, connection bookkeeping and
//! dispatching. Every method takes the pool lock briefly and never calls a
//! [`super::ResponseHandler`] while holding it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use super::{conn, ClientError, ClientOptions, ConnMsg, Connector, Origin, Req};

/// Starts a connection task: `(pool, origin, conn id, first request, channel)`.
type Spawner = Box<dyn Fn(Arc<Pool>, Origin, u64, UnboundedReceiver<ConnMsg>) + Send + Sync>;

struct ConnEntry {
    id: u64,
    tx: UnboundedSender<ConnMsg>,
    /// Requests assigned and not yet given back (including those still in the channel).
    in_flight: usize,
    /// The connection will take no more requests (it is closing).
    accepting: bool,
}

#[derive(Default)]
struct OriginPool {
    queue: VecDeque<Arc<Req>>,
    conns: Vec<ConnEntry>,
}

#[derive(Default)]
struct State {
    origins: HashMap<Origin, OriginPool>,
    next_conn: u64,
    closing: bool,
}

/// The pool shared by a [`super::Client`], its request handles and its connection tasks.
pub(crate) struct Pool {
    pub(crate) opts: ClientOptions,
    state: Mutex<State>,
    spawner: Spawner,
    me: Weak<Pool>,
    destroyed: AtomicBool,
}

impl Pool {
    pub(crate) fn new<C: Connector>(opts: ClientOptions, connector: C) -> Arc<Pool> {
        let connector = Arc::new(connector);
        let spawner: Spawner = Box::new(move |pool, origin, id, rx| {
            iocrate_runtime::spawn(conn::run(connector.clone(), pool, origin, id, rx));
        });
        Arc::new_cyclic(|me| Pool {
            opts,
            state: Mutex::new(State::default()),
            spawner,
            me: me.clone(),
            destroyed: AtomicBool::new(false),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn submit(&self, req: Arc<Req>) {
        let mut st = self.lock();
        if st.closing {
            drop(st);
            req.fail(ClientError::ClientClosed);
            return;
        }
        let origin = req.spec.origin.clone();
        st.origins.entry(origin.clone()).or_default().queue.push_back(req);
        self.dispatch(&mut st, &origin);
    }

    /// Removes a queued (unassigned) request; false if it is not in the queue.
    pub(crate) fn cancel(&self, req: &Arc<Req>) -> bool {
        let mut st = self.lock();
        let Some(op) = st.origins.get_mut(&req.spec.origin) else { return false };
        match op.queue.iter().position(|r| Arc::ptr_eq(r, req)) {
            Some(i) => {
                op.queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// Hands queued requests to connections (see the module docs of `client`).
    fn dispatch(&self, st: &mut State, origin: &Origin) {
        let depth = self.opts.pipelining.max(1);
        let max_sockets = self.opts.max_sockets_per_origin.max(1);
        loop {
            let next_conn = st.next_conn;
            let Some(op) = st.origins.get_mut(origin) else { return };
            let Some(req) = op.queue.front().cloned() else { break };
            let (aborted, fresh_only) = {
                let rs = req.lock();
                (rs.aborted, rs.fresh_only)
            };
            if aborted || req.is_done() {
                op.queue.pop_front();
                // The handle delivers ABORT_ERR when it cannot find the request here.
                req.fail(ClientError::Aborted);
                continue;
            }
            let idle = op.conns.iter().position(|c| c.accepting && c.in_flight == 0);
            if let (true, Some(i)) = (fresh_only && op.conns.len() >= max_sockets, idle) {
                // A retry needs a fresh connection: make room by closing an idle one.
                let _ = op.conns.remove(i).tx.send(ConnMsg::Close);
                continue;
            }
            let idle = if fresh_only { None } else { idle };
            let target = if let Some(i) = idle {
                i
            } else if op.conns.len() < max_sockets {
                let (tx, rx) = unbounded_channel();
                op.conns.push(ConnEntry { id: next_conn, tx, in_flight: 0, accepting: true });
                st.next_conn += 1;
                let pool = self.me.upgrade().expect("the pool is alive while used");
                (self.spawner)(pool, origin.clone(), next_conn, rx);
                st.origins.get_mut(origin).expect("present").conns.len() - 1
            } else if depth > 1 && !fresh_only {
                match op
                    .conns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.accepting && c.in_flight < depth)
                    .min_by_key(|(_, c)| c.in_flight)
                {
                    Some((i, _)) => i,
                    None => break,
                }
            } else {
                break;
            };
            let op = st.origins.get_mut(origin).expect("present");
            let req = op.queue.pop_front().expect("front exists");
            let c = &mut op.conns[target];
            c.in_flight += 1;
            req.lock().conn = Some(c.tx.clone());
            let _ = c.tx.send(ConnMsg::Assign(req));
        }
        if let Some(op) = st.origins.get(origin) {
            if op.queue.is_empty() && op.conns.is_empty() {
                st.origins.remove(origin);
            }
        }
    }

    /// Connection `id` is done with one request. Returns true when the connection must
    /// close now (it is idle and the pool is closing or has enough idle connections); it
    /// has then been removed from the pool.
    pub(crate) fn finished(&self, origin: &Origin, id: u64, reusable: bool) -> bool {
        let mut st = self.lock();
        let closing = st.closing;
        let max_idle = self.opts.max_idle_per_origin;
        let Some(op) = st.origins.get_mut(origin) else { return true };
        let Some(i) = op.conns.iter().position(|c| c.id == id) else { return true };
        let c = &mut op.conns[i];
        c.in_flight = c.in_flight.saturating_sub(1);
        c.accepting &= reusable;
        let mut retire = false;
        if c.in_flight == 0 {
            let idle = op.conns.iter().filter(|c| c.accepting && c.in_flight == 0).count();
            // An idle connection is needed right away if requests are queued.
            let wanted = !op.queue.is_empty();
            if !op.conns[i].accepting || closing || (idle > max_idle && !wanted) {
                op.conns.remove(i);
                retire = true;
            }
        }
        self.dispatch(&mut st, origin);
        retire
    }

    /// The connection will take no more requests.
    pub(crate) fn stop_accepting(&self, origin: &Origin, id: u64) {
        let mut st = self.lock();
        if let Some(c) = st.origins.get_mut(origin).and_then(|op| op.conns.iter_mut().find(|c| c.id == id)) {
            c.accepting = false;
        }
    }

    /// An idle connection's timer ran out: removes it unless a request was assigned
    /// meanwhile. True if removed.
    pub(crate) fn retire_idle(&self, origin: &Origin, id: u64) -> bool {
        let mut st = self.lock();
        let Some(op) = st.origins.get_mut(origin) else { return true };
        let Some(i) = op.conns.iter().position(|c| c.id == id) else { return true };
        if op.conns[i].in_flight > 0 {
            return false;
        }
        op.conns.remove(i);
        if op.queue.is_empty() && op.conns.is_empty() {
            st.origins.remove(origin);
        }
        true
    }

    /// Connection `id` is gone. `requeue` (its requests that may run elsewhere, in order)
    /// and any request still in its channel go back to the front of the queue.
    pub(crate) fn remove_conn(
        &self,
        origin: &Origin,
        id: u64,
        mut requeue: Vec<Arc<Req>>,
        rx: &mut UnboundedReceiver<ConnMsg>,
    ) {
        let mut st = self.lock();
        if let Some(op) = st.origins.get_mut(origin) {
            op.conns.retain(|c| c.id != id);
        }
        // Nothing can be sent to this connection any more: take what is in its channel.
        rx.close();
        while let Ok(msg) = rx.try_recv() {
            if let ConnMsg::Assign(r) = msg {
                requeue.push(r);
            }
        }
        if requeue.is_empty() {
            if let Some(op) = st.origins.get(origin) {
                if op.queue.is_empty() && op.conns.is_empty() {
                    st.origins.remove(origin);
                }
            }
            return;
        }
        if self.destroyed.load(Ordering::Acquire) {
            drop(st);
            for r in requeue {
                r.fail(ClientError::Aborted);
            }
            return;
        }
        let op = st.origins.entry(origin.clone()).or_default();
        for r in requeue.into_iter().rev() {
            r.lock().conn = None;
            op.queue.push_front(r);
        }
        self.dispatch(&mut st, origin);
    }

    pub(crate) fn connections(&self, origin: &Origin) -> usize {
        self.lock().origins.get(origin).map_or(0, |op| op.conns.len())
    }

    pub(crate) fn idle_connections(&self, origin: &Origin) -> usize {
        self.lock().origins.get(origin).map_or(0, |op| op.conns.iter().filter(|c| c.in_flight == 0).count())
    }

    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closing = true;
        for op in st.origins.values_mut() {
            op.conns.retain(|c| {
                if c.in_flight == 0 {
                    let _ = c.tx.send(ConnMsg::Close);
                    false
                } else {
                    true
                }
            });
        }
        st.origins.retain(|_, op| !op.conns.is_empty() || !op.queue.is_empty());
    }

    pub(crate) fn destroy(&self) {
        self.destroyed.store(true, Ordering::Release);
        let mut failed = Vec::new();
        {
            let mut st = self.lock();
            st.closing = true;
            for (_, op) in st.origins.drain() {
                failed.extend(op.queue);
                for c in op.conns {
                    let _ = c.tx.send(ConnMsg::Destroy);
                }
            }
        }
        for r in failed {
            r.fail(ClientError::Aborted);
        }
    }
}
