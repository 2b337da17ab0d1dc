//! The real-time brain: the [`Brain`] loop on its own thread, on the wall clock, fed by a
//! camera and odometry that arrive on other threads (the ROS node's subscriptions, or any
//! other source).
//!
//! Frames go into the brain's latest-wins [`Mailbox`] under a mutex held only to put or take
//! one, so a camera callback never waits for an inference. The pixel buffers of frames used
//! or replaced come back through [`RealtimeBrain::spare_buffer`], so a camera decodes into
//! them instead of allocating a buffer per frame. The thread sleeps until a frame
//! arrives or the stall timeout passes, then runs one [`Brain::step`]. Commands leave through
//! a callback, so the thread knows nothing about where they go.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::base::clock::{Clock, WallClock};
use crate::base::sensor::{Frame, Odometry};
use crate::driving::brain::{Brain, BrainConfig, BrainCounters, BrainStats, Latency, Output};
use crate::driving::mailbox::{Mailbox, MailboxCounts};
use crate::driving::pipeline::Pipeline;

/// What the camera and odometry threads hand to the brain thread.
#[derive(Default)]
struct Inbox {
    frames: Mailbox<Frame>,
    odometry: Option<Odometry>,
    closed: bool,
}

struct Shared {
    inbox: Mutex<Inbox>,
    ready: Condvar,
    running: AtomicBool,
    enabled: AtomicBool,
    /// Pixel buffers of frames done with, for the camera to decode into.
    spares: Mutex<Vec<Vec<u8>>>,
}

impl Shared {
    fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a used frame's buffer for the next frame (a few: the frames in flight).
    fn recycle(&self, frame: Frame) {
        let mut spares = self.spares.lock().unwrap_or_else(|p| p.into_inner());
        if spares.len() < 3 && frame.data.capacity() > 0 {
            spares.push(frame.data);
        }
    }
}

/// What the thread does next, decided under the inbox's lock and done outside it: with the
/// frame taken (if any) and the mailbox's counts, a brain step (given the last arrival) or,
/// switched off, a stop.
struct Next {
    taken: Option<(Frame, f64)>,
    counts: MailboxCounts,
    step: Option<Option<f64>>,
}

/// What the thread last reported: counters after every step, timings every
/// [`TIMINGS_EVERY`] (their percentiles cost some 30 µs; both are computed outside the
/// inbox's lock, so a camera callback never waits for them).
#[derive(Default)]
struct Status {
    counters: BrainCounters,
    timings: Option<BrainStats>,
}

/// How often the thread refreshes its timings, seconds.
const TIMINGS_EVERY: f64 = 0.2;

/// A brain running on its own thread; dropping it (or [`RealtimeBrain::stop`]) ends it.
pub struct RealtimeBrain {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<Pipeline>>,
    status: Arc<Mutex<Status>>,
    clock: WallClock,
}

impl RealtimeBrain {
    /// Starts the loop on `clock` with `stall_timeout`: every command goes to `publish`, on
    /// the brain's thread. The pilot's compute time is real here, so the brain adds no latency
    /// of its own.
    pub fn spawn<F>(
        pipeline: Pipeline,
        stall_timeout: Duration,
        clock: WallClock,
        mut publish: F,
    ) -> std::io::Result<RealtimeBrain>
    where
        F: FnMut(Output) + Send + 'static,
    {
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            ready: Condvar::new(),
            running: AtomicBool::new(true),
            enabled: AtomicBool::new(true),
            spares: Mutex::new(Vec::new()),
        });
        let status = Arc::new(Mutex::new(Status::default()));
        let config = BrainConfig {
            stall_timeout,
            latency: Latency::None,
        };
        let (s, st) = (shared.clone(), status.clone());
        let worker = std::thread::Builder::new()
            .name("brain".into())
            .spawn(move || {
                let mut brain = Brain::new(pipeline, config, clock.now());
                let mut refreshed = f64::NEG_INFINITY;
                // Whether the stop for the switch turning off has been sent.
                let mut held = false;
                loop {
                    let next = {
                        let mut inbox = s.inbox();
                        loop {
                            if inbox.closed {
                                return brain.into_pipeline();
                            }
                            if let Some(odom) = inbox.odometry.take() {
                                brain.on_odometry(odom);
                            }
                            if !s.enabled.load(Ordering::Acquire) {
                                let taken = inbox.frames.take();
                                if taken.is_some() || !held {
                                    held = true;
                                    let counts = inbox.frames.counts();
                                    break Next {
                                        taken,
                                        counts,
                                        step: None,
                                    };
                                }
                                inbox = s.ready.wait(inbox).unwrap_or_else(|p| p.into_inner());
                                continue;
                            }
                            held = false;
                            let last = inbox.frames.last_arrival();
                            let ready = brain.is_free() && !inbox.frames.is_empty();
                            let wait = brain.deadline(last) - clock.now();
                            if ready || wait <= 0.0 {
                                let taken = if ready { inbox.frames.take() } else { None };
                                let counts = inbox.frames.counts();
                                break Next {
                                    taken,
                                    counts,
                                    step: Some(last),
                                };
                            }
                            inbox = s
                                .ready
                                .wait_timeout(inbox, Duration::from_secs_f64(wait))
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                    };
                    let frame = next.taken.as_ref().map(|(f, at)| (f, *at));
                    match next.step {
                        Some(last) => brain.step(&clock, last, move || frame, &mut publish),
                        None => brain.hold(frame, clock.now(), &mut publish),
                    }
                    if let Some((frame, _)) = next.taken {
                        s.recycle(frame);
                    }
                    // Outside the inbox's lock: a camera callback never waits for this.
                    report(&brain, next.counts, &st, &mut refreshed, clock.now());
                }
            })?;
        Ok(RealtimeBrain {
            shared,
            worker: Some(worker),
            status,
            clock,
        })
    }

    /// A camera frame: replaces a frame still waiting (counted as dropped).
    pub fn on_frame(&self, frame: Frame) {
        let replaced = self.shared.inbox().frames.put(frame, self.clock.now());
        self.shared.ready.notify_one();
        if let Some(old) = replaced {
            self.shared.recycle(old);
        }
    }

    /// A pixel buffer of a frame the brain is done with (empty when none is free): decode the
    /// next frame into it, as [`crate::base::raw_image::RawImage::into_frame`] takes it.
    pub fn spare_buffer(&self) -> Vec<u8> {
        let mut spares = self.shared.spares.lock().unwrap_or_else(|p| p.into_inner());
        spares.pop().unwrap_or_default()
    }

    /// Odometry: the newest is handed to the pilot with the next frame.
    pub fn on_odometry(&self, odom: Odometry) {
        self.shared.inbox().odometry = Some(odom);
    }

    /// Switches the brain on or off. Off, every frame is answered with a stop instead of the
    /// network's answer (one stop is sent as it turns off, even with no camera) and the stall
    /// watchdog rests; on again, frames are processed from the next one.
    pub fn set_enabled(&self, on: bool) {
        let _inbox = self.shared.inbox();
        self.shared.enabled.store(on, Ordering::Release);
        self.shared.ready.notify_one();
    }

    /// Whether the brain is switched on.
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled.load(Ordering::Acquire)
    }

    /// When the last frame arrived, on [`RealtimeBrain::clock`]; `None` before the first.
    pub fn last_frame_at(&self) -> Option<f64> {
        self.shared.inbox().frames.last_arrival()
    }

    /// The wall clock the brain stamps arrivals with ([`Output::received`]).
    pub fn clock(&self) -> &WallClock {
        &self.clock
    }

    /// Counters (arrivals and drops as of now, the rest as of the last step) and timings
    /// (as of the last refresh, at most 200 ms old).
    pub fn stats(&self) -> BrainStats {
        let (received, dropped) = {
            let inbox = self.shared.inbox();
            (inbox.frames.received(), inbox.frames.dropped())
        };
        let status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        let counters = BrainCounters {
            frames_received: received,
            frames_dropped: dropped,
            ..status.counters
        };
        let mut stats = status.timings.unwrap_or_else(|| {
            BrainStats::new(
                counters,
                &crate::base::timing::StepTimer::new().stats(),
                None,
            )
        });
        stats.counters = counters;
        stats
    }

    /// Whether the thread is still running.
    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Relaxed)
            && self.worker.as_ref().is_some_and(|w| !w.is_finished())
    }

    /// Ends the thread and returns the pipeline (for its timing statistics).
    pub fn stop(mut self) -> Option<Pipeline> {
        self.close()
    }

    fn close(&mut self) -> Option<Pipeline> {
        self.shared.running.store(false, Ordering::Relaxed);
        self.shared.inbox().closed = true;
        self.shared.ready.notify_one();
        self.worker.take().and_then(|w| w.join().ok())
    }
}

impl Drop for RealtimeBrain {
    fn drop(&mut self) {
        self.close();
    }
}

/// The thread's report after a step: its counters, and its timings when they are due.
fn report(
    brain: &Brain,
    frames: MailboxCounts,
    status: &Mutex<Status>,
    refreshed: &mut f64,
    now: f64,
) {
    let mut status = status.lock().unwrap_or_else(|p| p.into_inner());
    status.counters = brain.counters(frames);
    if now - *refreshed >= TIMINGS_EVERY {
        status.timings = Some(brain.stats(frames));
        *refreshed = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::control::{Command, CommandLimits};
    use crate::driving::brain::Reason;
    use crate::driving::pilot::{Pilot, PilotError};
    use std::sync::mpsc;

    /// Answers v = 1 + seq / 1000; with a gate, says when it starts on a frame and waits
    /// to be let go, so a test knows the brain is busy.
    struct Gated(Option<(mpsc::Sender<u64>, mpsc::Receiver<()>)>);

    impl Pilot for Gated {
        fn name(&self) -> &str {
            "gated"
        }
        fn drive(&mut self, frame: &Frame, _: Option<&Odometry>) -> Result<Command, PilotError> {
            if let Some((started, go)) = &self.0 {
                let _ = started.send(frame.seq);
                let _ = go.recv_timeout(Duration::from_secs(5));
            }
            Ok(Command::new(1.0 + frame.seq as f64 * 1e-3, 0.0))
        }
    }

    fn brain(pilot: Gated, stall_ms: u64) -> (RealtimeBrain, mpsc::Receiver<Output>) {
        let pipeline = Pipeline::new(Box::new(pilot), CommandLimits::default());
        let (tx, rx) = mpsc::channel();
        let stall = Duration::from_millis(stall_ms);
        let b = RealtimeBrain::spawn(pipeline, stall, WallClock::new(), move |o| {
            let _ = tx.send(o);
        })
        .unwrap();
        (b, rx)
    }

    fn frame(seq: u64) -> Frame {
        let mut f = Frame::new_rgb8(8, 8);
        f.seq = seq;
        f
    }

    // The policy itself (which frame is taken, when stops go out) is tested on a simulated
    // clock in `brain`; these check the threading: frames from another thread are answered,
    // a busy brain keeps only the newest, a silent camera gets stops, the thread ends.

    #[test]
    fn a_busy_brain_keeps_only_the_newest_frame() {
        let (started_tx, started) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let (b, rx) = brain(Gated(Some((started_tx, go_rx))), 10_000);
        b.on_frame(frame(1));
        assert_eq!(started.recv_timeout(Duration::from_secs(5)), Ok(1));
        // While the first frame is computing, three more arrive: only the last is kept.
        for seq in 2..=4 {
            b.on_frame(frame(seq));
        }
        go.send(()).unwrap();
        assert_eq!(started.recv_timeout(Duration::from_secs(5)), Ok(4));
        go.send(()).unwrap();
        let answered: Vec<u64> = (0..2)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap().frame_seq)
            .collect();
        assert_eq!(answered, [1, 4]);
        let c = b.stats().counters;
        assert_eq!((c.frames_received, c.frames_dropped), (4, 2));
        let pipeline = b.stop().expect("pipeline back");
        assert_eq!(pipeline.timer().count(), 2);
    }

    #[test]
    fn a_silent_camera_gets_stops() {
        let (b, rx) = brain(Gated(None), 50);
        b.on_frame(frame(1));
        let first = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(first.reason, Reason::Frame);
        let stop = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!((stop.reason, stop.cmd), (Reason::Stalled, Command::STOP));
        let waited = b.clock().now() - first.received;
        assert!(waited >= 0.05, "stop after {waited} s");
        b.on_frame(frame(2));
        let back = rx.iter().find(|o| o.reason == Reason::Frame).unwrap();
        assert_eq!(back.frame_seq, 2);
        assert!(b.stats().counters.stall_stops >= 1);
        assert!(b.is_running());
    }

    #[test]
    fn a_switched_off_brain_answers_every_frame_with_a_stop_and_no_stall() {
        let (b, rx) = brain(Gated(None), 50);
        b.on_frame(frame(1));
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(1)).unwrap().reason,
            Reason::Frame
        );
        b.set_enabled(false);
        assert!(!b.is_enabled());
        // One stop as it turns off, then one per frame, never the network's answer.
        let off = rx.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!((off.reason, off.cmd), (Reason::Disabled, Command::STOP));
        for seq in 2..=4 {
            b.on_frame(frame(seq));
            let out = rx.recv_timeout(Duration::from_secs(1)).unwrap();
            assert_eq!(
                (out.reason, out.cmd, out.frame_seq),
                (Reason::Disabled, Command::STOP, seq)
            );
        }
        // Quiet for twice the stall timeout: the watchdog rests while off.
        assert!(rx.recv_timeout(Duration::from_millis(120)).is_err());
        b.set_enabled(true);
        b.on_frame(frame(5));
        let back = rx.iter().find(|o| o.reason == Reason::Frame).unwrap();
        assert_eq!((back.frame_seq, back.cmd.v), (5, 1.005));
        // (The processed count is reported just after the answer goes out.)
        let c = b.stats().counters;
        assert_eq!((c.frames_received, c.stall_stops), (5, 0));
        assert!(b.last_frame_at().is_some());
    }

    #[test]
    fn used_and_replaced_frames_hand_their_buffers_back() {
        let (b, rx) = brain(Gated(None), 10_000);
        assert_eq!(
            b.spare_buffer().capacity(),
            0,
            "none before a frame is done"
        );
        let f = frame(1);
        let at = f.data.as_ptr();
        b.on_frame(f);
        rx.recv_timeout(Duration::from_secs(1)).unwrap();
        // The answer goes out before the buffer is handed back.
        let end = std::time::Instant::now() + Duration::from_secs(1);
        let mut spare = b.spare_buffer();
        while spare.capacity() == 0 && std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(1));
            spare = b.spare_buffer();
        }
        assert_eq!(spare.as_ptr(), at);
    }
}
