//! Task movement of the `sticky` assignor (issue 14 item 7): how many tasks a
//! scale-out, a scale-in and a crash move, against the minimum a balanced
//! assignment needs. `tools/task-moves-vs-java.sh` runs Kafka's
//! `StickyTaskAssignor` on the same inputs (`tools/task-moves/TaskMoves.java`)
//! and puts both side by side (docs/benchmarks.md, "Task movement").
//!
//! ```sh
//! cargo run --release --example task_moves            # every case
//! cargo run --release --example task_moves -- 100 1   # 100 members, 1 standby
//! ```
//!
//! The inputs (the Java harness builds the same ones):
//!
//! * `n` members (10, 100, 1,000), one per process. Member `i` is
//!   `m-<16 hex digits>` from the `i`-th draw of SplitMix64 seeded with `n`,
//!   its process `p-<the same digits>`: random ids, as Kafka Streams' UUIDs
//!   are, so the order of the members is not the order they joined in.
//! * 10 tasks per member: 10 subtopologies `"0"`..`"9"` of `n` partitions
//!   each, the even ones stateful; 0 or 1 standby replica.
//! * The group before the event holds the assignor's first assignment of the
//!   `n` members as its current tasks (Stable: current = target), exactly the
//!   spec the core builds from a Stable group (member id, process id, current
//!   active and standby tasks, no reported offsets).
//! * Events: `rerun` (nothing changes: a new target for the same members),
//!   `scale-out` (member `n`, the next draw, joins), `scale-in` (the last
//!   member to have joined, `n − 1`, leaves), `crash` (member `n / 2` is
//!   fenced). For the assignor a leave and a fence are the same input (the
//!   member and its tasks are gone); they remove different members here.
//!
//! Counted for each event, from the old target to the new one:
//!
//! * `active_moved`: tasks whose active owner differs (a departed member's
//!   tasks all count); `active_warm`: those of them taken by a member that
//!   held the task as a standby.
//! * `standby_moved`: standby replicas placed on a member that did not hold
//!   that standby; `standby_cold`: those of them on a member that held no copy
//!   of the task at all (not its former active owner either): a restore.
//! * The minimum of a balanced assignment (every member's active count and
//!   total count within one of the others'): `min_active` is ⌊A/(n+1)⌋ for a
//!   scale-out (the new member's least share of the A active tasks), the
//!   departed member's actives otherwise, 0 for a rerun; `min_standby` is
//!   ⌊(A+S)/(n+1)⌋ − ⌈A/(n+1)⌉ for a scale-out (its least share of all copies
//!   less its most actives), the departed member's standbys otherwise.
//!
//! Prints one line per case: `n sb event key=value...` with a digest (FNV-1a
//! of the member-ordered assignment text) of the old and the new target, so
//! that the two sides can be shown to have had the same input
//! (`TASK_MOVES_DUMP=1` prints the hashed text of every target on stderr).
//! `TASK_MOVES_SAVE=DIR` writes the target before the events to
//! `DIR/<n>_<standbys>.txt`; `TASK_MOVES_FROM=DIR` starts from such a file
//! instead of our own first assignment (the other side's, for instance).

use std::collections::{BTreeMap, BTreeSet};

use harness::Rng;
use streams_coordinator::assignor::*;

/// Tasks per member of every case.
const TASKS_PER_MEMBER: usize = 10;
/// Subtopologies of every case (the even ones are stateful).
const SUBTOPOLOGIES: usize = 10;

/// A member as the coordinator holds it in a Stable group: its process and
/// its current tasks, in the core's task-set shape.
#[derive(Clone, Default)]
struct Member {
    process: String,
    active: TaskMap,
    standby: TaskMap,
}

/// Members by id.
type Group = BTreeMap<String, Member>;

/// The `i`-th member id and process id of a group of `n`.
fn ids(n: usize, count: usize) -> Vec<(String, String)> {
    let mut rng = Rng::new(n as u64);
    (0..count)
        .map(|_| {
            let x = rng.next_u64();
            (format!("m-{x:016x}"), format!("p-{x:016x}"))
        })
        .collect()
}

/// A new target for `group`, returned as the group holding it.
fn assign(space: &TaskSpace, configs: &AssignmentConfigs, group: &Group) -> Group {
    let mut spec = GroupSpec::with_capacity(configs, group.len());
    for (id, m) in group {
        let mut s = MemberSpec::new(id, &m.process);
        s.active_tasks = &m.active;
        s.standby_tasks = &m.standby;
        spec.members.push(s);
    }
    let a = StickyAssignor::new()
        .assign(&spec, space)
        .expect("the sticky assignor takes every case");
    a.members()
        .map(|m| {
            let id = m.member_id().to_owned();
            let process = group[&id].process.clone();
            (
                id,
                Member {
                    process,
                    active: m.active().to_map(),
                    standby: m.standby().to_map(),
                },
            )
        })
        .collect()
}

/// `id|a:s-p,s-p,|s:s-p,...;` per member in id order, tasks by (subtopology
/// id, partition): the text both sides hash, save and read.
fn text(group: &Group) -> String {
    let mut text = String::new();
    let tasks = |text: &mut String, t: &TaskMap| {
        for (s, ps) in t {
            for p in ps {
                text.push_str(&format!("{s}-{p},"));
            }
        }
    };
    for (id, m) in group {
        text.push_str(id);
        text.push_str("|a:");
        tasks(&mut text, &m.active);
        text.push_str("|s:");
        tasks(&mut text, &m.standby);
        text.push(';');
    }
    text
}

/// A group of `members` holding the target of [`text`] form.
fn parse(text: &str, members: &Group) -> Group {
    let tasks = |list: &str| {
        let mut t = TaskMap::new();
        for task in list.split(',').filter(|x| !x.is_empty()) {
            let (s, p) = task.split_once('-').expect("s-p");
            t.entry(s.to_owned())
                .or_default()
                .insert(p.parse().expect("partition"));
        }
        t
    };
    let mut out = members.clone();
    for entry in text.trim().split(';').filter(|x| !x.is_empty()) {
        let (id, rest) = entry.split_once("|a:").expect("id|a:");
        let (a, sb) = rest.split_once("|s:").expect("|s:");
        let m = out.get_mut(id).expect("a member of the group");
        m.active = tasks(a);
        m.standby = tasks(sb);
    }
    out
}

/// FNV-1a of [`text`].
fn digest(group: &Group) -> u64 {
    let text = text(group);
    if std::env::var_os("TASK_MOVES_DUMP").is_some() {
        eprintln!("{text}");
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Every `(task, member)` pair of one role.
fn pairs(group: &Group, role: fn(&Member) -> &TaskMap) -> BTreeSet<((&str, i32), &str)> {
    let mut out = BTreeSet::new();
    for (id, m) in group {
        for (s, ps) in role(m) {
            for &p in ps {
                out.insert(((s.as_str(), p), id.as_str()));
            }
        }
    }
    out
}

/// What an event moved, and the minimum.
#[derive(Debug, Default)]
struct Moves {
    active_moved: usize,
    active_warm: usize,
    standby_moved: usize,
    standby_cold: usize,
    min_active: usize,
    min_standby: usize,
}

fn count(old: &Group, new: &Group) -> Moves {
    let old_active: BTreeMap<(&str, i32), &str> = pairs(old, |m| &m.active).into_iter().collect();
    let old_standby = pairs(old, |m| &m.standby);
    let mut mv = Moves::default();
    for (task, owner) in pairs(new, |m| &m.active) {
        if old_active.get(&task) != Some(&owner) {
            mv.active_moved += 1;
            if old_standby.contains(&(task, owner)) {
                mv.active_warm += 1;
            }
        }
    }
    for (task, holder) in pairs(new, |m| &m.standby) {
        if !old_standby.contains(&(task, holder)) {
            mv.standby_moved += 1;
            if old_active.get(&task) != Some(&holder) {
                mv.standby_cold += 1;
            }
        }
    }
    mv
}

fn size(t: &TaskMap) -> usize {
    t.values().map(BTreeSet::len).sum()
}

fn run(n: usize, standbys: u32) {
    let parts = u32::try_from(n * TASKS_PER_MEMBER / SUBTOPOLOGIES).expect("small");
    let space = TaskSpace::new((0..SUBTOPOLOGIES).map(|i| (i.to_string(), parts, i % 2 == 0)))
        .expect("task space");
    let configs = AssignmentConfigs {
        num_standby_replicas: standbys,
        ..Default::default()
    };
    let ids = ids(n, n + 1);
    let fresh: Group = ids[..n]
        .iter()
        .map(|(m, p)| {
            (
                m.clone(),
                Member {
                    process: p.clone(),
                    ..Member::default()
                },
            )
        })
        .collect();
    let old = match std::env::var_os("TASK_MOVES_FROM") {
        Some(dir) => {
            let path = std::path::Path::new(&dir).join(format!("{n}_{standbys}.txt"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            parse(&text, &fresh)
        }
        None => assign(&space, &configs, &fresh),
    };
    if let Some(dir) = std::env::var_os("TASK_MOVES_SAVE") {
        let path = std::path::Path::new(&dir).join(format!("{n}_{standbys}.txt"));
        std::fs::write(&path, text(&old)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let actives: usize = old.values().map(|m| size(&m.active)).sum();
    let copies: usize = actives + old.values().map(|m| size(&m.standby)).sum::<usize>();
    for event in ["rerun", "scale-out", "scale-in", "crash"] {
        let mut input = old.clone();
        let (min_active, min_standby) = match event {
            "rerun" => (0, 0),
            "scale-out" => {
                let (m, p) = &ids[n];
                input.insert(
                    m.clone(),
                    Member {
                        process: p.clone(),
                        ..Member::default()
                    },
                );
                let floor_a = actives / (n + 1);
                let ceil_a = actives.div_ceil(n + 1);
                (floor_a, (copies / (n + 1)).saturating_sub(ceil_a))
            }
            _ => {
                let gone = &ids[if event == "crash" { n / 2 } else { n - 1 }].0;
                let m = input.remove(gone).expect("member of the group");
                (size(&m.active), size(&m.standby))
            }
        };
        let new = assign(&space, &configs, &input);
        let mut mv = count(&old, &new);
        mv.min_active = min_active;
        mv.min_standby = min_standby;
        println!(
            "{n} {standbys} {event} active_moved={} active_warm={} standby_moved={} standby_cold={} \
             min_active={} min_standby={} old={:016x} new={:016x}",
            mv.active_moved,
            mv.active_warm,
            mv.standby_moved,
            mv.standby_cold,
            mv.min_active,
            mv.min_standby,
            digest(&old),
            digest(&new),
        );
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("usage: task_moves [MEMBERS [STANDBYS]]"))
        .collect();
    let sizes = match args.first() {
        Some(&n) => vec![n],
        None => vec![10, 100, 1000],
    };
    let standbys = match args.get(1) {
        Some(&b) => vec![u32::try_from(b).expect("standbys")],
        None => vec![0, 1],
    };
    for &n in &sizes {
        for &b in &standbys {
            run(n, b);
        }
    }
}
