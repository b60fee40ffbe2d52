//! The scenario runner of spec 08, shared by the `scenario` example (the command line) and
//! `tests/scenarios.rs` (which runs every `tests/scenarios/*.json` under `cargo test`).
//!
//! A scenario file is read and checked completely before anything runs ([`parse_scenario`]):
//! unknown keys, wrong types, times going backwards, request fields a version lacks and
//! `expect` on a step without a response all make the file invalid (exit status 2), so a typo
//! never passes silently. A valid scenario is then run step by step against a fresh
//! coordinator shard on the project harness (simulated clock, in-memory log; [`run_scenario`]);
//! every step yields one JSON output line and whether its expectations held.
//!
//! Limits (so a scenario file cannot make the runner allocate without bound): a topic has at
//! most [`MAX_PARTITIONS`] partitions, a file at most [`MAX_STEPS`] steps, and one step
//! fires at most [`MAX_TIMERS_PER_STEP`] timers.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use harness::{Harness, MemoryLog, Reads, RebuildError};
use serde_json::{Map, Value};
use streams_coordinator::assignor::{
    AssignorError, AssignorRegistry, GroupAssignment, GroupAssignmentBuilder, GroupSpec,
    TaskAssignor, TaskSpace,
};
use streams_coordinator::group::{
    ConfigError, CoordinatorConfig, ForeignGroupKind, RequestContext,
};
use streams_coordinator::protocol::{
    describe::DescribedGroup, CoordinatorRecord, ErrorCode, Message, StreamsGroupDescribeRequest,
    StreamsGroupDescribeResponse, StreamsGroupHeartbeatRequest, StreamsGroupHeartbeatResponse,
    Uuid,
};
use streams_coordinator::service::auth::check_heartbeat_request;
use streams_coordinator::shard::HeartbeatDone;
use streams_coordinator::topology::{ClusterMetadata, InternalTopic, TopicMetadata};

/// Most partitions a scenario topic may have.
pub const MAX_PARTITIONS: i64 = 100_000;
/// Most steps in one scenario file.
pub const MAX_STEPS: usize = 100_000;
/// Most timers one step may fire (a coordinator re-arming a timer at the same instant forever
/// would otherwise hang the runner): the harness's bound.
pub const MAX_TIMERS_PER_STEP: usize = harness::MAX_TIMERS_PER_ADVANCE;

/// The record type names of spec 08 (`expectRecords`).
pub const RECORD_NAMES: [&str; 6] = [
    "StreamsGroupMetadata",
    "StreamsGroupTopology",
    "StreamsGroupMemberMetadata",
    "StreamsGroupTargetAssignmentMember",
    "StreamsGroupTargetAssignmentMetadata",
    "StreamsGroupCurrentMemberAssignment",
];

// ------------------------------------------------------------------------------------------
// Scenario model and parsing
// ------------------------------------------------------------------------------------------

/// Why a file is not a valid scenario (exit status 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadScenario {
    /// The step the problem is in, if it is in one.
    pub step: Option<usize>,
    /// What is wrong.
    pub problem: String,
}

impl BadScenario {
    fn top(problem: impl Into<String>) -> Self {
        BadScenario {
            step: None,
            problem: problem.into(),
        }
    }
    fn at(step: usize, problem: impl Into<String>) -> Self {
        BadScenario {
            step: Some(step),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for BadScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.step {
            Some(s) => write!(f, "step {s}: {}", self.problem),
            None => write!(f, "{}", self.problem),
        }
    }
}

/// A topic of the simulated cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Partition count.
    pub partitions: i32,
    /// Explicit topic id; without one the runner derives a stable id from the name and how
    /// many times that name has been created.
    pub id: Option<Uuid>,
    /// Replica racks per partition.
    pub racks: Option<Vec<Vec<String>>>,
}

/// The type of a group of another protocol (`foreignGroup` steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignKind {
    /// A consumer group.
    Consumer,
    /// A classic group.
    Classic,
    /// A share group.
    Share,
}

/// One member's slice of a scripted target assignment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScriptedMember {
    /// Active tasks, subtopology id to partitions.
    pub active: BTreeMap<String, BTreeSet<i32>>,
    /// Standby tasks, subtopology id to partitions.
    pub standby: BTreeMap<String, BTreeSet<i32>>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    /// One StreamsGroupHeartbeat request.
    Heartbeat {
        /// The request body.
        request: Box<StreamsGroupHeartbeatRequest>,
        /// Its API version.
        version: i16,
        /// The connection's client id.
        client_id: String,
        /// The connection's address.
        client_host: String,
    },
    /// One StreamsGroupDescribe request.
    Describe {
        /// The request body.
        request: StreamsGroupDescribeRequest,
        /// Its API version.
        version: i16,
    },
    /// Replace the cluster's topics.
    Topics(BTreeMap<String, TopicSpec>),
    /// Change the dynamic settings of one group.
    GroupConfig {
        /// The group.
        group_id: String,
        /// Settings by Kafka name.
        configs: Vec<(String, String)>,
    },
    /// Only move the clock.
    Tick,
    /// A group of another type uses an id.
    ForeignGroup {
        /// The id.
        group_id: String,
        /// Its type.
        kind: ForeignKind,
        /// Whether that group is empty.
        empty: bool,
    },
    /// Queue a target assignment for the scripted assignor.
    Assignment(BTreeMap<String, ScriptedMember>),
}

/// One step of a scenario.
#[derive(Debug, Clone)]
pub struct Step {
    /// Absolute simulated time, ms.
    pub at: i64,
    /// What it does.
    pub action: Action,
    /// Expected response (partial match).
    pub expect: Option<Value>,
    /// Expected record type names (multiset).
    pub expect_records: Option<Vec<String>>,
    /// Expected internal topics to create (set, partial match per element).
    pub expect_create_topics: Option<Value>,
}

/// A parsed, valid scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Shown in the output.
    pub name: String,
    /// Broker settings by Kafka name.
    pub broker_config: Vec<(String, String)>,
    /// Per-group settings applied to every group.
    pub group_config: Vec<(String, String)>,
    /// Assignor name.
    pub assignor: String,
    /// Whether asked-for internal topics are created at once.
    pub auto_create_internal_topics: bool,
    /// The cluster's topics at time 0.
    pub topics: BTreeMap<String, TopicSpec>,
    /// The steps.
    pub steps: Vec<Step>,
}

const TOP_KEYS: [&str; 9] = [
    "name",
    "source",
    "notes",
    "brokerConfig",
    "groupConfig",
    "assignor",
    "autoCreateInternalTopics",
    "topics",
    "steps",
];
const ACTION_KEYS: [&str; 7] = [
    "heartbeat",
    "describe",
    "topics",
    "groupConfig",
    "tick",
    "foreignGroup",
    "assignment",
];
const STEP_KEYS: [&str; 7] = [
    "at",
    "expect",
    "expectRecords",
    "expectCreateTopics",
    "version",
    "clientId",
    "clientHost",
];

fn config_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
            .map(|l| l.join(",")),
        _ => None,
    }
}

fn config_map(
    v: &Value,
    what: &str,
    step: Option<usize>,
) -> Result<Vec<(String, String)>, BadScenario> {
    let bad = |p: String| BadScenario { step, problem: p };
    let obj = v
        .as_object()
        .ok_or_else(|| bad(format!("{what} must be an object")))?;
    obj.iter()
        .map(|(k, v)| {
            config_value(v).map(|s| (k.clone(), s)).ok_or_else(|| {
                bad(format!(
                    "{what}: value of {k} must be a string, number, boolean or list"
                ))
            })
        })
        .collect()
}

fn derive_topic_id(name: &str, creation: u32) -> Uuid {
    let h = xxhash_rust::xxh3::xxh3_128(format!("{name}#{creation}").as_bytes());
    Uuid(h.to_be_bytes())
}

fn parse_topic(name: &str, v: &Value, step: Option<usize>) -> Result<TopicSpec, BadScenario> {
    let bad = |p: String| BadScenario { step, problem: p };
    let count = |v: &Value| -> Result<i32, BadScenario> {
        v.as_i64()
            .filter(|n| (0..=MAX_PARTITIONS).contains(n))
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| {
                bad(format!(
                    "topic {name}: partitions must be an integer in 0..={MAX_PARTITIONS}"
                ))
            })
    };
    match v {
        Value::Number(_) => Ok(TopicSpec {
            partitions: count(v)?,
            id: None,
            racks: None,
        }),
        Value::Object(o) => {
            for k in o.keys() {
                if !["partitions", "id", "racks"].contains(&k.as_str()) {
                    return Err(bad(format!("topic {name}: unknown key {k}")));
                }
            }
            let partitions = count(
                o.get("partitions")
                    .ok_or_else(|| bad(format!("topic {name}: partitions missing")))?,
            )?;
            let id = match o.get("id") {
                None => None,
                Some(Value::String(s)) => Some(
                    s.parse::<Uuid>()
                        .map_err(|e| bad(format!("topic {name}: bad id {s}: {e}")))?,
                ),
                Some(_) => return Err(bad(format!("topic {name}: id must be a string"))),
            };
            let racks = match o.get("racks") {
                None => None,
                Some(r) => Some(
                    serde_json::from_value::<Vec<Vec<String>>>(r.clone()).map_err(|e| {
                        bad(format!(
                            "topic {name}: racks must be a list of lists of strings: {e}"
                        ))
                    })?,
                ),
            };
            Ok(TopicSpec {
                partitions,
                id,
                racks,
            })
        }
        _ => Err(bad(format!(
            "topic {name}: must be a partition count or an object"
        ))),
    }
}

fn parse_topics(
    v: &Value,
    step: Option<usize>,
) -> Result<BTreeMap<String, TopicSpec>, BadScenario> {
    let obj = v.as_object().ok_or_else(|| BadScenario {
        step,
        problem: "topics must be an object".into(),
    })?;
    obj.iter()
        .map(|(k, v)| Ok((k.clone(), parse_topic(k, v, step)?)))
        .collect()
}

fn parse_task_list(
    v: &Value,
    step: usize,
    what: &str,
) -> Result<BTreeMap<String, BTreeSet<i32>>, BadScenario> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Entry {
        subtopology_id: String,
        partitions: Vec<i32>,
    }
    let list: Vec<Entry> = serde_json::from_value(v.clone())
        .map_err(|e| BadScenario::at(step, format!("{what}: {e}")))?;
    let mut out: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
    for e in list {
        if !e.partitions.is_empty() {
            out.entry(e.subtopology_id)
                .or_default()
                .extend(e.partitions);
        }
    }
    Ok(out)
}

fn parse_assignment(
    v: &Value,
    step: usize,
) -> Result<BTreeMap<String, ScriptedMember>, BadScenario> {
    let obj = v
        .as_object()
        .ok_or_else(|| BadScenario::at(step, "assignment must be an object"))?;
    let mut out = BTreeMap::new();
    for (member, body) in obj {
        let b = body.as_object().ok_or_else(|| {
            BadScenario::at(step, format!("assignment of {member} must be an object"))
        })?;
        let mut m = ScriptedMember::default();
        for (k, v) in b {
            match k.as_str() {
                "activeTasks" => m.active = parse_task_list(v, step, "activeTasks")?,
                "standbyTasks" => m.standby = parse_task_list(v, step, "standbyTasks")?,
                _ => {
                    return Err(BadScenario::at(
                        step,
                        format!("assignment of {member}: unknown key {k}"),
                    ))
                }
            }
        }
        out.insert(member.clone(), m);
    }
    Ok(out)
}

fn parse_foreign(v: &Value, step: usize) -> Result<Action, BadScenario> {
    let o = v
        .as_object()
        .ok_or_else(|| BadScenario::at(step, "foreignGroup must be an object"))?;
    for k in o.keys() {
        if !["groupId", "type", "empty"].contains(&k.as_str()) {
            return Err(BadScenario::at(
                step,
                format!("foreignGroup: unknown key {k}"),
            ));
        }
    }
    let group_id = o
        .get("groupId")
        .and_then(Value::as_str)
        .ok_or_else(|| BadScenario::at(step, "foreignGroup: groupId (a string) is required"))?
        .to_string();
    let kind = match o.get("type").map(|t| t.as_str()) {
        None | Some(Some("consumer")) => ForeignKind::Consumer,
        Some(Some("classic")) => ForeignKind::Classic,
        Some(Some("share")) => ForeignKind::Share,
        Some(_) => {
            return Err(BadScenario::at(
                step,
                "foreignGroup: type must be \"consumer\", \"classic\" or \"share\"",
            ))
        }
    };
    let empty = match o.get("empty") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(BadScenario::at(
                step,
                "foreignGroup: empty must be a boolean",
            ))
        }
    };
    Ok(Action::ForeignGroup {
        group_id,
        kind,
        empty,
    })
}

fn parse_version<M: Message>(o: &Map<String, Value>, step: usize) -> Result<i16, BadScenario> {
    match o.get("version") {
        None => Ok(M::HIGHEST_VERSION),
        Some(v) => v
            .as_i64()
            .and_then(|v| i16::try_from(v).ok())
            .filter(|v| M::is_valid_version(*v))
            .ok_or_else(|| {
                BadScenario::at(
                    step,
                    format!(
                        "version must be an integer in {}..={} for {}",
                        M::LOWEST_VERSION,
                        M::HIGHEST_VERSION,
                        M::NAME
                    ),
                )
            }),
    }
}

fn parse_step(v: &Value, i: usize, last_at: i64, assignor: &str) -> Result<Step, BadScenario> {
    let o = v
        .as_object()
        .ok_or_else(|| BadScenario::at(i, "a step must be an object"))?;
    for k in o.keys() {
        if !STEP_KEYS.contains(&k.as_str()) && !ACTION_KEYS.contains(&k.as_str()) {
            return Err(BadScenario::at(i, format!("unknown key {k}")));
        }
    }
    let at = o
        .get("at")
        .ok_or_else(|| BadScenario::at(i, "no \"at\""))?
        .as_i64()
        .ok_or_else(|| BadScenario::at(i, "\"at\" must be an integer (ms)"))?;
    if at < last_at {
        return Err(BadScenario::at(
            i,
            format!("time goes backwards ({at} < {last_at})"),
        ));
    }
    let kinds: Vec<&str> = ACTION_KEYS
        .iter()
        .copied()
        .filter(|k| o.contains_key(*k))
        .collect();
    let kind = match kinds.as_slice() {
        [k] => *k,
        [] => return Err(BadScenario::at(i, "no action (heartbeat, describe, topics, groupConfig, tick, foreignGroup or assignment)")),
        _ => return Err(BadScenario::at(i, format!("more than one action: {}", kinds.join(", ")))),
    };
    let body = o.get(kind).cloned().unwrap_or(Value::Null);
    let only_for = |key: &str, allowed: &[&str]| -> Result<(), BadScenario> {
        if o.contains_key(key) && !allowed.contains(&kind) {
            Err(BadScenario::at(
                i,
                format!("\"{key}\" is not allowed on a {kind} step"),
            ))
        } else {
            Ok(())
        }
    };
    only_for("version", &["heartbeat", "describe"])?;
    only_for("clientId", &["heartbeat"])?;
    only_for("clientHost", &["heartbeat"])?;
    only_for("expect", &["heartbeat", "describe"])?;
    let string_opt = |key: &str, default: &str| -> Result<String, BadScenario> {
        match o.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(BadScenario::at(i, format!("\"{key}\" must be a string"))),
        }
    };
    let action = match kind {
        "heartbeat" => {
            let version = parse_version::<StreamsGroupHeartbeatRequest>(o, i)?;
            if !body.is_object() {
                return Err(BadScenario::at(i, "heartbeat must be an object"));
            }
            let request = StreamsGroupHeartbeatRequest::from_json(body, version)
                .map_err(|e| BadScenario::at(i, format!("bad heartbeat request: {e}")))?;
            Action::Heartbeat {
                request: Box::new(request),
                version,
                client_id: string_opt("clientId", "client")?,
                client_host: string_opt("clientHost", "/127.0.0.1")?,
            }
        }
        "describe" => {
            let version = parse_version::<StreamsGroupDescribeRequest>(o, i)?;
            if !body.is_object() {
                return Err(BadScenario::at(i, "describe must be an object"));
            }
            let request = StreamsGroupDescribeRequest::from_json(body, version)
                .map_err(|e| BadScenario::at(i, format!("bad describe request: {e}")))?;
            Action::Describe { request, version }
        }
        "topics" => Action::Topics(parse_topics(&body, Some(i))?),
        "groupConfig" => {
            let mut configs = config_map(&body, "groupConfig", Some(i))?;
            let pos = configs
                .iter()
                .position(|(k, _)| k == "groupId")
                .ok_or_else(|| BadScenario::at(i, "groupConfig without groupId"))?;
            let (_, group_id) = configs.remove(pos);
            Action::GroupConfig { group_id, configs }
        }
        "tick" => match body {
            Value::Bool(true) => Action::Tick,
            _ => return Err(BadScenario::at(i, "tick must be true")),
        },
        "foreignGroup" => parse_foreign(&body, i)?,
        "assignment" => {
            if assignor != "scripted" {
                return Err(BadScenario::at(
                    i,
                    "an assignment step needs the scripted assignor",
                ));
            }
            Action::Assignment(parse_assignment(&body, i)?)
        }
        _ => return Err(BadScenario::at(i, format!("unknown action {kind}"))),
    };
    let expect_records = match o.get("expectRecords") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|r| {
                    let name = r.as_str().ok_or_else(|| {
                        BadScenario::at(i, "expectRecords entries must be strings")
                    })?;
                    if RECORD_NAMES.contains(&name.strip_prefix('-').unwrap_or(name)) {
                        Ok(name.to_string())
                    } else {
                        Err(BadScenario::at(
                            i,
                            format!("expectRecords: unknown record type {name}"),
                        ))
                    }
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(BadScenario::at(i, "expectRecords must be a list")),
    };
    let expect_create_topics = match o.get("expectCreateTopics") {
        None => None,
        Some(v @ Value::Array(items)) if items.iter().all(Value::is_object) => Some(v.clone()),
        Some(_) => {
            return Err(BadScenario::at(
                i,
                "expectCreateTopics must be a list of objects",
            ))
        }
    };
    Ok(Step {
        at,
        action,
        expect: o.get("expect").cloned(),
        expect_records,
        expect_create_topics,
    })
}

/// Reads and checks a whole scenario file. `default_name` is used when it has no `name`.
pub fn parse_scenario(text: &str, default_name: &str) -> Result<Scenario, BadScenario> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| BadScenario::top(format!("not valid JSON: {e}")))?;
    let o = root
        .as_object()
        .ok_or_else(|| BadScenario::top("a scenario must be a JSON object"))?;
    for k in o.keys() {
        if !TOP_KEYS.contains(&k.as_str()) {
            return Err(BadScenario::top(format!("unknown top-level key {k}")));
        }
    }
    let name = match o.get("name") {
        None => default_name.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(BadScenario::top("name must be a string")),
    };
    for k in ["source", "notes"] {
        if o.get(k).is_some_and(|v| !v.is_string()) {
            return Err(BadScenario::top(format!("{k} must be a string")));
        }
    }
    let broker_config = match o.get("brokerConfig") {
        None => Vec::new(),
        Some(v) => config_map(v, "brokerConfig", None)?,
    };
    let group_config = match o.get("groupConfig") {
        None => Vec::new(),
        Some(v) => config_map(v, "groupConfig", None)?,
    };
    let assignor = match o.get("assignor") {
        None => "sticky".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(BadScenario::top("assignor must be a string")),
    };
    let auto_create_internal_topics = match o.get("autoCreateInternalTopics") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(BadScenario::top(
                "autoCreateInternalTopics must be a boolean",
            ))
        }
    };
    let topics = match o.get("topics") {
        None => BTreeMap::new(),
        Some(v) => parse_topics(v, None)?,
    };
    let raw_steps = o
        .get("steps")
        .ok_or_else(|| BadScenario::top("no steps"))?
        .as_array()
        .ok_or_else(|| BadScenario::top("steps must be a list"))?;
    if raw_steps.len() > MAX_STEPS {
        return Err(BadScenario::top(format!("more than {MAX_STEPS} steps")));
    }
    let mut steps = Vec::with_capacity(raw_steps.len());
    let mut last_at = 0;
    for (i, s) in raw_steps.iter().enumerate() {
        let step = parse_step(s, i, last_at, &assignor)?;
        last_at = step.at;
        steps.push(step);
    }
    Ok(Scenario {
        name,
        broker_config,
        group_config,
        assignor,
        auto_create_internal_topics,
        topics,
        steps,
    })
}

// ------------------------------------------------------------------------------------------
// Matching (spec 08 "Matching expect")
// ------------------------------------------------------------------------------------------

/// The first difference between an expectation and an actual value.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Path of the differing value, e.g. `response.groups[0].groupState`.
    pub path: String,
    /// The expected value.
    pub expected: Value,
    /// The actual value, `None` if absent.
    pub actual: Option<Value>,
}

impl Mismatch {
    /// The JSON form printed in the output line: `{"path", "expected", "actual"}` in that
    /// order; an absent actual value is shown as `"<absent>"`.
    pub fn to_json_text(&self) -> String {
        let actual = self
            .actual
            .clone()
            .unwrap_or_else(|| Value::String("<absent>".into()));
        format!(
            "{{\"path\":{},\"expected\":{},\"actual\":{}}}",
            Value::String(self.path.clone()),
            self.expected,
            actual
        )
    }
}

fn mismatch(path: &str, exp: &Value, act: Option<&Value>) -> Option<Mismatch> {
    Some(Mismatch {
        path: path.to_string(),
        expected: exp.clone(),
        actual: act.cloned(),
    })
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Task-list entries with no partitions are dropped before arrays are compared.
fn is_empty_task_entry(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.contains_key("subtopologyId")
            && o.get("partitions")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
    })
}

/// Matches `exp` against `act` (absent = `None`) by the rules of spec 08; `None` when they
/// match, else the first difference.
pub fn match_value(exp: &Value, act: Option<&Value>, path: &str) -> Option<Mismatch> {
    if exp.as_str() == Some("$any") {
        return if act.is_some() {
            None
        } else {
            mismatch(path, exp, None)
        };
    }
    let Some(act) = act else {
        return mismatch(path, exp, None);
    };
    match exp {
        Value::Null => (!act.is_null())
            .then(|| mismatch(path, exp, Some(act)))
            .flatten(),
        Value::Object(e) => {
            let Value::Object(a) = act else {
                return mismatch(path, exp, Some(act));
            };
            e.iter()
                .find_map(|(k, ev)| match_value(ev, a.get(k), &format!("{path}.{k}")))
        }
        Value::Array(e) => {
            let Value::Array(a) = act else {
                return mismatch(path, exp, Some(act));
            };
            let es: Vec<&Value> = e.iter().filter(|v| !is_empty_task_entry(v)).collect();
            let as_: Vec<&Value> = a.iter().filter(|v| !is_empty_task_entry(v)).collect();
            if es.len() != as_.len() {
                return mismatch(path, exp, Some(act));
            }
            match_arrays(&es, &as_, path).map(|bad| match bad {
                Some(i) => Mismatch {
                    path: format!("{path}[{i}]"),
                    expected: es[i].clone(),
                    actual: Some(act.clone()),
                },
                None => Mismatch {
                    path: path.to_string(),
                    expected: exp.clone(),
                    actual: Some(act.clone()),
                },
            })
        }
        Value::Number(e) => match act {
            Value::Number(a) if numbers_equal(e, a) => None,
            _ => mismatch(path, exp, Some(act)),
        },
        _ => (exp != act)
            .then(|| mismatch(path, exp, Some(act)))
            .flatten(),
    }
}

/// Order-free array match: a perfect bipartite matching of expected to actual elements
/// (Kuhn's augmenting paths, polynomial). `None` if one exists, else `Some(Some(i))` naming an
/// expected element that matches no actual element at all, or `Some(None)`.
fn match_arrays(es: &[&Value], as_: &[&Value], path: &str) -> Option<Option<usize>> {
    let n = es.len();
    let compat: Vec<Vec<usize>> = es
        .iter()
        .map(|e| {
            (0..as_.len())
                .filter(|&j| match_value(e, Some(as_[j]), path).is_none())
                .collect()
        })
        .collect();
    if let Some(i) = compat.iter().position(Vec::is_empty) {
        return Some(Some(i));
    }
    let mut owner: Vec<Option<usize>> = vec![None; as_.len()];
    fn augment(
        i: usize,
        compat: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &j in &compat[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            let free = match owner[j] {
                None => true,
                Some(k) => augment(k, compat, owner, seen),
            };
            if free {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    for i in 0..n {
        let mut seen = vec![false; as_.len()];
        if !augment(i, &compat, &mut owner, &mut seen) {
            return Some(None);
        }
    }
    None
}

/// Multiset comparison of record names.
pub fn match_records(expected: &[String], actual: &[String]) -> Option<Mismatch> {
    let mut e = expected.to_vec();
    let mut a = actual.to_vec();
    e.sort();
    a.sort();
    (e != a).then(|| Mismatch {
        path: "records".into(),
        expected: Value::from(expected.to_vec()),
        actual: Some(Value::from(actual.to_vec())),
    })
}

/// The spec 08 name of a record: its type name, with `-` in front for a tombstone.
pub fn record_name(r: &CoordinatorRecord) -> String {
    let name = r.key.type_name();
    if r.value.is_none() {
        format!("-{name}")
    } else {
        name.to_string()
    }
}

/// One output line of the runner.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    /// Step index.
    pub step: usize,
    /// Its time.
    pub at: i64,
    /// The response body, for heartbeat and describe steps.
    pub response: Option<Value>,
    /// Names of the records the step wrote (timers included).
    pub records: Vec<String>,
    /// Internal topics the step asked the broker to create.
    pub create_topics: Vec<Value>,
    /// The first failed expectation, if any.
    pub mismatch: Option<Mismatch>,
    /// The replay check failed: (path, live value, rebuilt value).
    pub replay_mismatch: Option<Mismatch>,
}

impl StepOutcome {
    /// True when every expectation of the step and the replay check held.
    pub fn ok(&self) -> bool {
        self.mismatch.is_none() && self.replay_mismatch.is_none()
    }

    /// The JSON output line (fields in the order of spec 08).
    pub fn to_line(&self, scenario: &str) -> String {
        let mut s = String::from("{");
        let str_json = |v: &str| Value::String(v.to_string()).to_string();
        s.push_str(&format!(
            "\"scenario\":{},\"step\":{},\"at\":{}",
            str_json(scenario),
            self.step,
            self.at
        ));
        if let Some(r) = &self.response {
            s.push_str(&format!(",\"response\":{r}"));
        }
        s.push_str(&format!(
            ",\"records\":{}",
            Value::from(self.records.clone())
        ));
        if !self.create_topics.is_empty() {
            s.push_str(&format!(
                ",\"createTopics\":{}",
                Value::Array(self.create_topics.clone())
            ));
        }
        s.push_str(&format!(",\"ok\":{}", self.ok()));
        if let Some(m) = &self.mismatch {
            s.push_str(&format!(",\"mismatch\":{}", m.to_json_text()));
        } else if let Some(m) = &self.replay_mismatch {
            s.push_str(&format!(
                ",\"mismatch\":\"replay\",\"replayDiff\":{}",
                m.to_json_text()
            ));
        }
        s.push('}');
        s
    }
}

// ------------------------------------------------------------------------------------------
// The scripted assignor
// ------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct ScriptedState {
    queue: VecDeque<BTreeMap<String, ScriptedMember>>,
    last: BTreeMap<String, ScriptedMember>,
}

/// The `scripted` assignor of spec 08: each target computation takes the oldest queued
/// assignment (members it does not name get nothing); with none queued every member keeps
/// the target this assignor last returned for it.
#[derive(Debug, Default)]
pub struct ScriptedAssignor {
    state: Mutex<ScriptedState>,
}

impl ScriptedAssignor {
    /// Queues the next target assignment.
    pub fn push(&self, assignment: BTreeMap<String, ScriptedMember>) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queue
            .push_back(assignment);
    }
}

impl TaskAssignor for ScriptedAssignor {
    fn name(&self) -> &str {
        "scripted"
    }

    fn assign<'a>(
        &self,
        group: &GroupSpec<'a>,
        space: &'a TaskSpace,
    ) -> Result<GroupAssignment<'a>, AssignorError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let next = state.queue.pop_front();
        let mut builder = GroupAssignmentBuilder::new(group, space)?;
        let mut returned = BTreeMap::new();
        for m in &group.members {
            let slice = match &next {
                Some(n) => n.get(m.member_id),
                None => state.last.get(m.member_id),
            }
            .cloned()
            .unwrap_or_default();
            for (s, ps) in &slice.active {
                for p in ps {
                    builder.add_active(m.member_id, s, *p)?;
                }
            }
            for (s, ps) in &slice.standby {
                for p in ps {
                    builder.add_standby(m.member_id, s, *p)?;
                }
            }
            returned.insert(m.member_id.to_string(), slice);
        }
        state.last = returned;
        Ok(builder.build())
    }
}

// ------------------------------------------------------------------------------------------
// Running a scenario
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct LiveTopic {
    id: Uuid,
    partitions: i32,
    racks: Option<Vec<Vec<String>>>,
}

fn foreign_kind(k: ForeignKind) -> ForeignGroupKind {
    match k {
        ForeignKind::Consumer => ForeignGroupKind::Consumer,
        ForeignKind::Classic => ForeignGroupKind::Classic,
        ForeignKind::Share => ForeignGroupKind::Share,
    }
}

/// The state of one running scenario: the coordinator's shard on the project's harness
/// (simulated clock, in-memory log acknowledging every append at once).
struct Run<'s> {
    scenario: &'s Scenario,
    config: CoordinatorConfig,
    scripted: Option<Arc<ScriptedAssignor>>,
    harness: Harness,
    topics: BTreeMap<String, LiveTopic>,
    created: BTreeMap<String, u32>,
    /// Every group id a step named.
    group_ids: BTreeSet<String>,
}

impl<'s> Run<'s> {
    fn new(scenario: &'s Scenario) -> Result<Self, BadScenario> {
        let mut config = CoordinatorConfig::default();
        let (registry, scripted) = if scenario.assignor == "scripted" {
            let scripted = Arc::new(ScriptedAssignor::default());
            let mut registry = AssignorRegistry::empty();
            registry
                .register(Arc::clone(&scripted) as Arc<dyn TaskAssignor>)
                .map_err(|e| BadScenario::top(format!("scripted assignor: {e}")))?;
            (registry, Some(scripted))
        } else {
            let registry = AssignorRegistry::default();
            if registry.get(&scenario.assignor).is_none() {
                return Err(BadScenario::top(format!(
                    "unknown assignor {} (known: scripted, {})",
                    scenario.assignor,
                    registry.names().collect::<Vec<_>>().join(", ")
                )));
            }
            (registry, None)
        };
        config
            .set("group.streams.assignors", &scenario.assignor)
            .map_err(|e| BadScenario::top(format!("assignor: {e}")))?;
        // Scenario files pin Kafka's answers, and Kafka places no warm-ups (its refiner is a
        // pass-through): warm-ups are off unless a file turns them on (docs/scenarios.md).
        config
            .set("group.streams.num.warmup.replicas", "0")
            .map_err(|e| BadScenario::top(format!("warm-ups: {e}")))?;
        for (k, v) in &scenario.broker_config {
            match config.set(k, v) {
                Ok(()) => {}
                // A Kafka broker setting outside the streams coordinator (e.g.
                // `offsets.retention.minutes`) does not make the scenario invalid; a misspelt
                // streams setting does.
                Err(ConfigError::Unknown(_)) if !k.starts_with("group.streams.") => {
                    eprintln!(
                        "{}: brokerConfig: {k} is not a streams-coordinator setting; ignored",
                        scenario.name
                    );
                }
                Err(e) => return Err(BadScenario::top(format!("brokerConfig: {e}"))),
            }
        }
        config
            .validate()
            .map_err(|e| BadScenario::top(format!("brokerConfig: {e}")))?;
        // Scenario files pin the core's answers: reads see record-less changes at once.
        let harness = Harness::with_log(
            config.clone(),
            Arc::new(registry),
            MemoryLog::default(),
            Reads::Latest,
        );
        let mut run = Run {
            scenario,
            config,
            scripted,
            harness,
            topics: BTreeMap::new(),
            created: BTreeMap::new(),
            group_ids: BTreeSet::new(),
        };
        run.apply_topics(&scenario.topics);
        run.harness.take_written();
        Ok(run)
    }

    /// The names of the records made durable since the last call.
    fn written(&mut self, names: &mut Vec<String>) {
        names.extend(self.harness.take_written().iter().map(record_name));
    }

    /// Replaces the cluster's topics (spec 08 `topics`): a topic left out is deleted; a topic
    /// whose partition count shrinks, or whose explicit id changes, is deleted and re-created.
    fn apply_topics(&mut self, wanted: &BTreeMap<String, TopicSpec>) {
        self.topics.retain(|name, cur| {
            wanted.get(name).is_some_and(|w| {
                w.partitions >= cur.partitions && w.id.is_none_or(|id| id == cur.id)
            })
        });
        for (name, w) in wanted {
            match self.topics.get_mut(name) {
                Some(cur) => {
                    cur.partitions = w.partitions;
                    if w.racks.is_some() {
                        cur.racks.clone_from(&w.racks);
                    }
                }
                None => {
                    let n = self.created.entry(name.clone()).or_insert(0);
                    *n += 1;
                    let id = w.id.unwrap_or_else(|| derive_topic_id(name, *n));
                    self.topics.insert(
                        name.clone(),
                        LiveTopic {
                            id,
                            partitions: w.partitions,
                            racks: w.racks.clone(),
                        },
                    );
                }
            }
        }
        let mut metadata = ClusterMetadata::new();
        for (name, t) in &self.topics {
            let topic = match &t.racks {
                Some(racks) => {
                    let mut racks = racks.clone();
                    racks.resize(usize::try_from(t.partitions).unwrap_or(0), Vec::new());
                    TopicMetadata::with_racks(t.id, name.clone(), racks)
                }
                None => TopicMetadata::new(t.id, name.clone(), t.partitions),
            };
            metadata.insert(topic);
        }
        self.harness.update_metadata(Arc::new(metadata));
    }

    /// Applies the scenario's top-level `groupConfig` the first time a group id is seen.
    fn ensure_group(&mut self, group_id: &str, step: usize) -> Result<(), BadScenario> {
        if group_id.is_empty() || !self.group_ids.insert(group_id.to_string()) {
            return Ok(());
        }
        let configs = self.scenario.group_config.clone();
        self.set_group_config(group_id, configs, step)
    }

    fn set_group_config(
        &mut self,
        group_id: &str,
        configs: Vec<(String, String)>,
        step: usize,
    ) -> Result<(), BadScenario> {
        if configs.is_empty() {
            return Ok(());
        }
        self.harness
            .update_group_config(group_id, &configs)
            .map_err(|e| BadScenario::at(step, format!("groupConfig of {group_id}: {e}")))
    }

    /// Moves the clock to `at`, firing every due timer at its own deadline, in order.
    fn advance(&mut self, at: i64, step: usize) -> Result<(), BadScenario> {
        self.harness.advance_to(at).map(|_| ()).map_err(|max| {
            BadScenario::at(step, format!("more than {max} timers due before this step"))
        })
    }

    fn create_topics_json(topics: &[InternalTopic]) -> Vec<Value> {
        let mut sorted: Vec<&InternalTopic> = topics.iter().collect();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        sorted.dedup_by(|a, b| a.name == b.name);
        sorted
            .into_iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name,
                    "partitions": t.partitions,
                    "replicationFactor": t.replication_factor,
                })
            })
            .collect()
    }

    fn run_step(&mut self, index: usize, step: &Step) -> Result<StepOutcome, BadScenario> {
        let mut names = Vec::new();
        let mut create_topics = Vec::new();
        self.advance(step.at, index)?;
        let response = match &step.action {
            Action::Heartbeat {
                request,
                version,
                client_id,
                client_host,
            } => {
                self.ensure_group(&request.group_id, index)?;
                let ctx = RequestContext {
                    api_version: *version,
                    client_id: client_id.clone(),
                    client_host: client_host.clone(),
                    now_ms: self.harness.now(),
                };
                let out = match broker_layer_check(&self.config, request) {
                    Some(rejected) => HeartbeatDone {
                        response: rejected,
                        internal_topics: Vec::new(),
                    },
                    None => self
                        .harness
                        .heartbeat(&ctx, (**request).clone())
                        .map_err(|f| {
                            BadScenario::at(index, format!("the shard refused: {}", f.code.name()))
                        })?,
                };
                create_topics = Self::create_topics_json(&out.internal_topics);
                if self.scenario.auto_create_internal_topics && !out.internal_topics.is_empty() {
                    let mut wanted: BTreeMap<String, TopicSpec> = self
                        .topics
                        .iter()
                        .map(|(n, t)| {
                            (
                                n.clone(),
                                TopicSpec {
                                    partitions: t.partitions,
                                    id: Some(t.id),
                                    racks: t.racks.clone(),
                                },
                            )
                        })
                        .collect();
                    for t in &out.internal_topics {
                        wanted.entry(t.name.clone()).or_insert(TopicSpec {
                            partitions: t.partitions,
                            id: None,
                            racks: None,
                        });
                    }
                    self.apply_topics(&wanted);
                }
                Some(out.response.to_json(*version))
            }
            Action::Describe { request, version } => {
                for g in &request.group_ids {
                    self.ensure_group(g, index)?;
                }
                let ctx = RequestContext {
                    api_version: *version,
                    client_id: "client".into(),
                    client_host: "/127.0.0.1".into(),
                    now_ms: self.harness.now(),
                };
                let response = if self.config.streams_enabled() {
                    let groups = self.harness.describe(&ctx, request.clone()).map_err(|f| {
                        BadScenario::at(index, format!("the shard refused: {}", f.code.name()))
                    })?;
                    StreamsGroupDescribeResponse {
                        throttle_time_ms: 0,
                        groups,
                    }
                } else {
                    // Spec 07 §1.1.1: the whole request answers UNSUPPORTED_VERSION.
                    StreamsGroupDescribeResponse {
                        throttle_time_ms: 0,
                        groups: request
                            .group_ids
                            .iter()
                            .map(|g| DescribedGroup {
                                group_id: g.clone(),
                                error_code: ErrorCode::UNSUPPORTED_VERSION.0,
                                ..DescribedGroup::default()
                            })
                            .collect(),
                    }
                };
                Some(response.to_json(*version))
            }
            Action::Topics(wanted) => {
                self.apply_topics(wanted);
                None
            }
            Action::GroupConfig { group_id, configs } => {
                self.ensure_group(group_id, index)?;
                self.set_group_config(group_id, configs.clone(), index)?;
                None
            }
            Action::Tick => None,
            Action::ForeignGroup {
                group_id,
                kind,
                empty,
            } => {
                self.group_ids.insert(group_id.clone());
                self.harness
                    .set_foreign_group(group_id, Some(foreign_kind(*kind)), *empty)
                    .map_err(|f| {
                        BadScenario::at(index, format!("the shard refused: {}", f.code.name()))
                    })?;
                None
            }
            Action::Assignment(a) => {
                match &self.scripted {
                    Some(s) => s.push(a.clone()),
                    None => {
                        return Err(BadScenario::at(
                            index,
                            "an assignment step needs the scripted assignor",
                        ))
                    }
                }
                None
            }
        };
        // Timers first, then the action's records, in the order they became durable.
        self.written(&mut names);
        let mut mismatch = None;
        if let Some(exp) = &step.expect {
            mismatch = match_value(exp, response.as_ref(), "response");
        }
        if mismatch.is_none() {
            if let Some(exp) = &step.expect_records {
                mismatch = match_records(exp, &names);
            }
        }
        if mismatch.is_none() {
            if let Some(exp) = &step.expect_create_topics {
                mismatch = match_value(
                    exp,
                    Some(&Value::Array(create_topics.clone())),
                    "createTopics",
                );
            }
        }
        let replay_mismatch = self.replay_check();
        Ok(StepOutcome {
            step: index,
            at: step.at,
            response,
            records: names,
            create_topics,
            mismatch,
            replay_mismatch,
        })
    }

    /// Rebuilds a second coordinator from every record written so far (plus what the broker
    /// holds outside the shard: cluster metadata, group configs, groups of other types) and
    /// compares its describe output with the shard's, fields not persisted cleared
    /// ([`Harness::persisted_views`]).
    fn replay_check(&self) -> Option<Mismatch> {
        let ids: Vec<String> = self.group_ids.iter().cloned().collect();
        let (live, again) = match self.harness.persisted_views(&ids) {
            Ok(views) => views,
            Err(RebuildError::Config { error, .. }) => {
                return Some(Mismatch {
                    path: "replay".into(),
                    expected: Value::String("group config accepted".into()),
                    actual: Some(Value::String(error.to_string())),
                })
            }
            Err(RebuildError::Replay {
                index,
                record,
                error,
            }) => {
                return Some(Mismatch {
                    path: format!("replay of record {index} ({})", record_name(&record)),
                    expected: Value::String("replayed".into()),
                    actual: Some(Value::String(error.to_string())),
                })
            }
        };
        let version = StreamsGroupDescribeRequest::HIGHEST_VERSION;
        let (live, again) = (live.to_json(version), again.to_json(version));
        (live != again).then(|| {
            let path = first_difference(&live, &again, "describe");
            Mismatch {
                path,
                expected: live,
                actual: Some(again),
            }
        })
    }
}

/// The broker layer's checks (spec 02 §1, 04 §2.1), made before a heartbeat reaches the
/// coordinator, as the embedding broker does (the library's one copy; the runner has no
/// authorizer, so every client is allowed).
fn broker_layer_check(
    config: &CoordinatorConfig,
    request: &StreamsGroupHeartbeatRequest,
) -> Option<StreamsGroupHeartbeatResponse> {
    let failure = check_heartbeat_request(config, request, |_, _| true).err()?;
    Some(StreamsGroupHeartbeatResponse {
        error_code: failure.code.0,
        error_message: failure.message,
        ..StreamsGroupHeartbeatResponse::default()
    })
}

/// The path of the first difference between two JSON values (for the replay mismatch).
fn first_difference(a: &Value, b: &Value, path: &str) -> String {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                match y.get(k) {
                    Some(w) if v == w => {}
                    Some(w) => return first_difference(v, w, &format!("{path}.{k}")),
                    None => return format!("{path}.{k}"),
                }
            }
            y.keys()
                .find(|k| !x.contains_key(*k))
                .map(|k| format!("{path}.{k}"))
                .unwrap_or_else(|| path.to_string())
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find(|(_, (v, w))| v != w)
            .map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]")))
            .unwrap_or_else(|| path.to_string()),
        _ => path.to_string(),
    }
}

/// Runs a parsed scenario against a fresh coordinator, handing each step's outcome to
/// `emit` as soon as it is known. Returns whether every step held; an error means the
/// scenario turned out to be invalid while running (e.g. a group config the coordinator
/// rejects), exit status 2.
pub fn run_scenario(
    scenario: &Scenario,
    emit: &mut dyn FnMut(&StepOutcome),
) -> Result<bool, BadScenario> {
    let mut run = Run::new(scenario)?;
    let mut all_ok = true;
    for (i, step) in scenario.steps.iter().enumerate() {
        let outcome = run.run_step(i, step)?;
        all_ok &= outcome.ok();
        emit(&outcome);
    }
    Ok(all_ok)
}
