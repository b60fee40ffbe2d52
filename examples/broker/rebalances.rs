//! The cause of every rebalance in the broker's log. Each node reads its
//! service's bump history (`Service::rebalance_history`, what the fleet demo
//! prints in process) and logs each new bump once at INFO:
//! `epoch 7 ← member-2 left (leave heartbeat), 3 tasks moved`.

use std::collections::BTreeMap;
use std::time::Duration;

use streams_coordinator::group::{Rebalance, StateFilter};
use streams_coordinator::service::Service;

/// How often a node reads the histories.
const EVERY: Duration = Duration::from_millis(500);

/// Reads a bump waits for its target before it is logged without one: 5 s,
/// past the default initial rebalance delay (3 s).
const PATIENCE: u32 = 10;

/// What one group's log has shown.
#[derive(Debug, Default)]
pub struct Shown {
    /// The last epoch logged.
    epoch: Option<i32>,
    /// A bump not logged yet because its target was still to come, and the
    /// reads that have seen it so far.
    held: Option<(i32, u32)>,
}

impl Shown {
    /// The bumps of `history` (oldest first) to log now. A bump is logged
    /// once its target is computed (the tasks it moved are known), once a
    /// later bump exists (its target was folded into a later one), or after
    /// [`PATIENCE`] reads (its group has no target to compute, e.g. it became
    /// empty).
    pub fn next<'a>(&mut self, history: &'a [Rebalance]) -> Vec<&'a Rebalance> {
        // A deleted and re-created group starts its epochs again.
        if let (Some(last), Some(shown)) = (history.last(), self.epoch) {
            if last.epoch < shown {
                *self = Shown::default();
            }
        }
        let mut out = Vec::new();
        for (i, r) in history.iter().enumerate() {
            if self.epoch.is_some_and(|e| r.epoch <= e) {
                continue;
            }
            let seen = match self.held {
                Some((e, n)) if e == r.epoch => n + 1,
                _ => 1,
            };
            let ready = r.tasks_moved.is_some() || i + 1 < history.len() || seen > PATIENCE;
            if !ready {
                self.held = Some((r.epoch, seen));
                break;
            }
            self.epoch = Some(r.epoch);
            self.held = None;
            out.push(r);
        }
        out
    }
}

/// Logs the rebalances of the groups `service` (node `node`) coordinates, forever.
pub async fn log(node: i32, service: Service) {
    let mut shown: BTreeMap<String, Shown> = BTreeMap::new();
    loop {
        tokio::time::sleep(EVERY).await;
        for g in service.list_groups(&StateFilter::Any).await {
            let Ok(history) = service.rebalance_history(&g.group_id).await else {
                continue;
            };
            let s = shown.entry(g.group_id.clone()).or_default();
            for r in s.next(&history) {
                tracing::info!(node, group = %g.group_id, "rebalance: {r}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streams_coordinator::group::BumpCause;

    fn bump(epoch: i32, cause: BumpCause, moved: Option<usize>) -> Rebalance {
        Rebalance {
            time_ms: 0,
            epoch,
            cause,
            member_id: Some(format!("member-{epoch}")),
            tasks_moved: moved,
        }
    }

    fn epochs(v: Vec<&Rebalance>) -> Vec<i32> {
        v.into_iter().map(|r| r.epoch).collect()
    }

    #[test]
    fn each_bump_is_logged_once_when_its_target_is_known() {
        let mut s = Shown::default();
        let mut h = vec![bump(1, BumpCause::MemberJoined, None)];
        // Target not computed yet: held.
        assert!(s.next(&h).is_empty());
        h[0].tasks_moved = Some(4);
        assert_eq!(epochs(s.next(&h)), vec![1]);
        assert!(s.next(&h).is_empty());
        // Two bumps folded into one target: both logged, once.
        h.push(bump(2, BumpCause::MemberJoined, None));
        h.push(bump(3, BumpCause::MemberLeft, Some(2)));
        assert_eq!(epochs(s.next(&h)), vec![2, 3]);
        assert!(s.next(&h).is_empty());
        // The line the log shows.
        assert_eq!(
            h[2].to_string(),
            "epoch 3 ← member-3 left (leave heartbeat), 2 tasks moved"
        );
    }

    #[test]
    fn a_bump_without_a_target_is_logged_after_a_while() {
        let mut s = Shown::default();
        let h = vec![bump(5, BumpCause::MemberLeft, None)];
        for _ in 0..PATIENCE {
            assert!(s.next(&h).is_empty());
        }
        assert_eq!(epochs(s.next(&h)), vec![5]);
        // The group is deleted and created again: its epochs restart.
        let h = vec![bump(1, BumpCause::MemberJoined, Some(1))];
        assert_eq!(epochs(s.next(&h)), vec![1]);
    }
}
