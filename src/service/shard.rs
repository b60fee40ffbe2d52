//! One shard task: a thin tokio pump over the pure [`crate::shard::Shard`].
//!
//! The task owns one `__consumer_offsets` partition. It feeds the state
//! machine its inputs (requests from the router's queue, tokio time,
//! metadata changes, the outcome of each log read and append) and performs
//! its outputs (the log read, the one append in flight, the replies). Every
//! rule of durability lives in the state machine; the pump only adds:
//!
//! * stop first: a stop signal is taken before anything else, so unload is
//!   prompt even while an append hangs (the append's future is dropped: the
//!   append is abandoned, see [`RecordSink`](super::RecordSink));
//! * at most [`MAX_REQUESTS_PER_TURN`] requests per turn, so one append
//!   groups them.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use super::broker::{BoxFuture, LoadedLog, SinkError};
use super::metrics::Counters;
use super::Env;
use crate::group::CoordinatorMetrics;
use crate::protocol::describe::DescribedGroup;
use crate::protocol::ErrorCode;
use crate::shard::{Answer, Loaded, Phase, Reply, Request, Shard};
use crate::topology::ClusterMetadata;

pub(crate) use crate::shard::{Failure, HeartbeatDone, LoadError};
pub(crate) use crate::shard::{ReadOp, WriteOp};

/// Shard state as seen by the router.
pub(crate) const LOADING: u8 = 0;
pub(crate) const ACTIVE: u8 = 1;
pub(crate) const FAILED: u8 = 2;

/// Most requests taken from the queue in one turn (they share one append).
const MAX_REQUESTS_PER_TURN: usize = 256;

/// Where a request's answer goes.
pub(crate) enum Responder {
    Heartbeat(oneshot::Sender<Result<HeartbeatDone, Failure>>),
    Describe(oneshot::Sender<Result<Vec<DescribedGroup>, Failure>>),
    Metrics(oneshot::Sender<CoordinatorMetrics>),
    Write(oneshot::Sender<Result<(), Failure>>),
    /// A read sends its own answer (dropping it unanswered tells the caller
    /// NOT_COORDINATOR).
    Read,
}

impl Responder {
    fn send(self, result: Result<Answer, Failure>) {
        match (self, result) {
            (Responder::Heartbeat(tx), Ok(Answer::Heartbeat(done))) => {
                let _ = tx.send(Ok(done));
            }
            (Responder::Heartbeat(tx), Err(f)) => {
                let _ = tx.send(Err(f));
            }
            (Responder::Describe(tx), Ok(Answer::Described(groups))) => {
                let _ = tx.send(Ok(groups));
            }
            (Responder::Describe(tx), Err(f)) => {
                let _ = tx.send(Err(f));
            }
            (Responder::Metrics(tx), Ok(Answer::Metrics(m))) => {
                let _ = tx.send(m);
            }
            (Responder::Write(tx), Ok(Answer::Written)) => {
                let _ = tx.send(Ok(()));
            }
            (Responder::Write(tx), Err(f)) => {
                let _ = tx.send(Err(f));
            }
            // A refused metrics request or read: dropping the sender is the answer.
            (Responder::Metrics(_), Err(_)) | (Responder::Read, _) => {}
            (_, other) => {
                tracing::error!(answer = ?other, "a shard answer of the wrong kind (a bug)");
            }
        }
    }
}

/// A message to a shard task: a request and where its answer goes.
pub(crate) struct ShardRequest {
    pub(crate) request: Request,
    pub(crate) responder: Responder,
}

/// The outcome of a load, for every `Service::load` waiting on it.
pub(crate) type LoadOutcome = Option<Result<(), LoadError>>;

/// What the task shares with the router.
pub(crate) struct Links {
    pub(crate) rx: mpsc::Receiver<ShardRequest>,
    pub(crate) stop: oneshot::Receiver<()>,
    pub(crate) metadata: watch::Receiver<Arc<ClusterMetadata>>,
    pub(crate) state: Arc<AtomicU8>,
    pub(crate) loaded: watch::Sender<LoadOutcome>,
}

enum Event {
    Stop,
    Appended(Result<(), SinkError>),
    Log(Result<LoadedLog, SinkError>),
    Metadata(bool),
    Timer,
    Request(Option<ShardRequest>),
}

async fn pending_or<F: std::future::Future + Unpin>(f: Option<&mut F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// The append in flight: its sequence number, record count, start and future.
type Inflight = (
    u64,
    usize,
    std::time::Instant,
    BoxFuture<'static, Result<(), SinkError>>,
);

/// Loads `partition` and serves it until stopped (or until it fails).
pub(crate) async fn run(partition: i32, env: Arc<Env>, links: Links) {
    let Links {
        mut rx,
        mut stop,
        mut metadata,
        state,
        loaded,
    } = links;
    let mut shard: Shard<Responder> = Shard::new(
        partition,
        env.coordinator.clone(),
        env.assignors.clone(),
        metadata.borrow_and_update().clone(),
    );
    shard.set_stopwatch(env.stopwatch.clone());
    let mut metadata_open = true;
    let mut inflight: Option<Inflight> = None;
    let mut reading: Option<BoxFuture<'static, Result<LoadedLog, SinkError>>> = None;
    // One timer for the task, moved when the core's next deadline moves: a
    // turn does not register and drop a timer of its own.
    let timer = tokio::time::sleep_until(env.clock.instant_at(env.clock.now_ms()));
    tokio::pin!(timer);
    let mut armed: Option<tokio::time::Instant> = None;
    loop {
        let now = env.clock.now_ms();
        if reading.is_none() && shard.poll_read(now) {
            let sink = env.sink.clone();
            reading = Some(Box::pin(async move { sink.read(partition).await }));
        }
        if inflight.is_none() {
            if let Some(append) = shard.poll_append() {
                let sink = env.sink.clone();
                let n = append.records.len();
                let (epoch, records) = (append.epoch, append.records);
                inflight = Some((
                    append.seq,
                    n,
                    std::time::Instant::now(),
                    Box::pin(async move { sink.append(partition, epoch, records).await }),
                ));
            }
        }
        send_replies(&mut shard);
        // Written only on a change: the router reads it on every request,
        // and a store per turn would bounce its cache line between cores.
        let phase = match shard.phase() {
            Phase::Failed => break,
            Phase::Active => ACTIVE,
            _ => LOADING,
        };
        if state.load(Ordering::Relaxed) != phase {
            state.store(phase, Ordering::Release);
        }
        let deadline = shard.next_deadline().map(|ms| env.clock.instant_at(ms));
        if let Some(d) = deadline.filter(|d| armed != Some(*d)) {
            timer.as_mut().reset(d);
        }
        armed = deadline;
        let serving = shard.phase() != Phase::Loading;
        let event = tokio::select! {
            biased;
            _ = &mut stop => Event::Stop,
            r = pending_or(inflight.as_mut().map(|i| &mut i.3)) => Event::Appended(r),
            r = pending_or(reading.as_mut()) => Event::Log(r),
            r = metadata.changed(), if metadata_open => Event::Metadata(r.is_ok()),
            _ = &mut timer, if deadline.is_some() => Event::Timer,
            m = rx.recv(), if serving => Event::Request(m),
        };
        let now = env.clock.now_ms();
        match event {
            Event::Stop | Event::Request(None) => break,
            Event::Appended(result) => {
                let Some((seq, records, started, _)) = inflight.take() else {
                    continue;
                };
                super::metrics::append_done(started, result.is_ok());
                let c = &env.counters;
                match &result {
                    Ok(()) => {
                        Counters::incr(&c.appends);
                        Counters::add(&c.records_appended, records as u64);
                    }
                    Err(_) => Counters::incr(&c.append_failures),
                }
                shard.on_appended(seq, result, now);
            }
            Event::Log(log) => {
                reading = None;
                let configs = env.group_configs.of_partition(partition);
                let outcome = shard.on_log(log, &configs, now);
                if matches!(outcome, Ok(Loaded::Initial | Loaded::Rebuilt)) {
                    // Before any request: the broker's word on the ids its
                    // other group types hold (kept outside this log).
                    let marks = env.foreign_groups.of_partition(partition);
                    if !marks.is_empty() {
                        let (done, _) = oneshot::channel();
                        let op: WriteOp = Box::new(move |core, _| {
                            for (id, kind, empty) in &marks {
                                core.set_foreign_group(id, Some(*kind), *empty);
                            }
                            Vec::new()
                        });
                        shard.handle(Responder::Write(done), Request::Write(op), now);
                    }
                }
                match outcome {
                    Ok(Loaded::Initial) => {
                        state.store(ACTIVE, Ordering::Release);
                        Counters::incr(&env.counters.loads);
                        tracing::info!(partition, "partition loaded");
                        loaded.send_replace(Some(Ok(())));
                    }
                    Ok(Loaded::Rebuilt) => Counters::incr(&env.counters.rebuilds),
                    Ok(Loaded::Retrying) => {}
                    Err(e) => {
                        if loaded.borrow().is_none() {
                            loaded.send_replace(Some(Err(e)));
                        }
                    }
                }
            }
            Event::Metadata(true) => {
                let m = metadata.borrow_and_update().clone();
                shard.update_metadata(m, now);
            }
            Event::Metadata(false) => metadata_open = false,
            Event::Timer => shard.advance_time(now),
            Event::Request(Some(first)) => {
                // Replies ready at once (reads, writes that observed nothing
                // uncommitted) leave as each request is handled, so their
                // callers run while the rest of the turn is handled.
                shard.handle(first.responder, first.request, now);
                send_replies(&mut shard);
                for _ in 1..MAX_REQUESTS_PER_TURN {
                    match rx.try_recv() {
                        Ok(m) => {
                            shard.handle(m.responder, m.request, now);
                            send_replies(&mut shard);
                        }
                        Err(_) => break,
                    }
                }
            }
        }
    }
    // Stopped (unloaded, or the shard failed): the append in flight and the
    // read are abandoned, everything waiting is refused.
    drop(inflight);
    drop(reading);
    let served = matches!(*loaded.borrow(), Some(Ok(())));
    shard.unload();
    send_replies(&mut shard);
    state.store(FAILED, Ordering::Release);
    if loaded.borrow().is_none() {
        loaded.send_replace(Some(Err(LoadError::Unloaded(partition))));
    }
    drain(&mut rx);
    if served {
        Counters::incr(&env.counters.unloads);
        tracing::info!(partition, "partition unloaded");
    }
}

fn send_replies(shard: &mut Shard<Responder>) {
    while let Some(Reply { token, result }) = shard.poll_reply() {
        token.send(result);
    }
}

/// Closes the queue and answers whatever is in it with NOT_COORDINATOR.
fn drain(rx: &mut mpsc::Receiver<ShardRequest>) {
    rx.close();
    while let Ok(m) = rx.try_recv() {
        m.responder
            .send(Err(Failure::new(ErrorCode::NOT_COORDINATOR)));
    }
}
