//! Runs the scenario files of `tests/scenarios/` (spec 08) and tests the runner's parsing and
//! matching rules. The runner itself is shared with `examples/scenario`.

#[path = "../examples/scenario/runner.rs"]
mod runner;

use std::path::PathBuf;

use harness::Rng;
use runner::{match_records, match_value, parse_scenario, run_scenario, Action, BadScenario};
use serde_json::json;

/// Scenarios the coordinator does not pass yet, with the reason. They are still run (see
/// `pending_scenarios_report`) but do not fail `cargo test`; the lead decides when to fix
/// them. Empty means every scenario of `tests/scenarios/` must pass.
const PENDING: &[(&str, &str)] = &[];

/// Runs one scenario file; `Err` carries the output lines of the failing steps.
fn run_file(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let scenario =
        parse_scenario(&text, file_name).map_err(|e| format!("invalid scenario: {e}"))?;
    let mut failures = Vec::new();
    let result = run_scenario(&scenario, &mut |outcome| {
        if !outcome.ok() {
            failures.push(outcome.to_line(&scenario.name));
        }
    });
    match result {
        Err(e) => Err(format!("invalid scenario: {e}")),
        Ok(true) => Ok(()),
        Ok(false) => Err(failures.join("\n")),
    }
}

fn scenario_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_file_is_valid() {
    let files = scenario_files();
    assert!(files.len() >= 60, "only {} scenario files", files.len());
    for f in files {
        let text = std::fs::read_to_string(&f).expect("readable");
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let s = parse_scenario(&text, name);
        assert!(
            s.is_ok(),
            "{}: {}",
            f.display(),
            s.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
}

#[test]
fn every_scenario_passes() {
    let mut failed = Vec::new();
    let mut ran = 0;
    for f in scenario_files() {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        if PENDING.iter().any(|(p, _)| *p == name) {
            continue;
        }
        ran += 1;
        if let Err(e) = run_file(&f) {
            failed.push(format!("{name}:\n{e}"));
        }
    }
    assert!(ran > 0);
    assert!(
        failed.is_empty(),
        "{} of {ran} scenarios failed:\n{}",
        failed.len(),
        failed.join("\n\n")
    );
}

/// Runs the pending scenarios and prints how they fare (`cargo test -- --nocapture`); never
/// fails, so a pending scenario cannot break `cargo test`, but it is not silently skipped.
#[test]
fn pending_scenarios_report() {
    for (name, why) in PENDING {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/scenarios")
            .join(name);
        match run_file(&path) {
            Ok(()) => eprintln!("PENDING {name} now PASSES: remove it from PENDING ({why})"),
            Err(e) => eprintln!(
                "PENDING {name} still fails ({why}): {}",
                e.lines().next().unwrap_or("")
            ),
        }
    }
}

fn bad(text: &str) -> BadScenario {
    match parse_scenario(text, "t.json") {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => e,
    }
}

#[test]
fn invalid_scenarios_are_rejected_with_the_step_and_problem() {
    assert!(bad("[]").problem.contains("JSON object"));
    assert!(bad("{").problem.contains("not valid JSON"));
    assert!(bad(r#"{"steps": [], "stpes": []}"#)
        .problem
        .contains("stpes"));
    assert!(bad(r#"{}"#).problem.contains("no steps"));
    let e = bad(r#"{"steps": [{"at": 5, "tick": true}, {"at": 4, "tick": true}]}"#);
    assert_eq!(e.step, Some(1));
    assert!(e.problem.contains("backwards"));
    let e = bad(r#"{"steps": [{"at": 0, "tick": true, "expect": {}}]}"#);
    assert!(e.problem.contains("expect"));
    let e = bad(r#"{"steps": [{"at": 0, "tick": true, "describe": {"groupIds": []}}]}"#);
    assert!(e.problem.contains("more than one action"));
    let e = bad(r#"{"steps": [{"at": 0}]}"#);
    assert!(e.problem.contains("no action"));
    let e = bad(r#"{"steps": [{"at": 0, "heartbeat": {"groupId": "g", "memberIdd": "m"}}]}"#);
    assert!(e.problem.contains("memberIdd"), "{}", e.problem);
    // a field the version does not have
    let e = bad(
        r#"{"steps": [{"at": 0, "version": 0, "describe": {"groupIds": ["g"], "includeTopologyDescription": true}}]}"#,
    );
    assert!(
        e.problem.contains("includeTopologyDescription"),
        "{}",
        e.problem
    );
    let e = bad(r#"{"steps": [{"at": 0, "version": 7, "describe": {"groupIds": ["g"]}}]}"#);
    assert!(e.problem.contains("version"));
    let e = bad(r#"{"steps": [{"at": 0, "assignment": {"m": {"activeTasks": []}}}]}"#);
    assert!(e.problem.contains("scripted"));
    let e =
        bad(r#"{"steps": [{"at": 0, "tick": true, "expectRecords": ["StreamsGroupMetadatta"]}]}"#);
    assert!(e.problem.contains("StreamsGroupMetadatta"));
    let e = bad(r#"{"topics": {"t": -1}, "steps": []}"#);
    assert!(e.problem.contains("partitions"));
    let e = bad(r#"{"steps": [{"at": 0, "foreignGroup": {"groupId": "g", "type": "weird"}}]}"#);
    assert!(e.problem.contains("type"));
    let e = bad(r#"{"steps": [{"at": 0, "groupConfig": {"streams.session.timeout.ms": 50000}}]}"#);
    assert!(e.problem.contains("groupId"));
}

#[test]
fn a_valid_scenario_is_parsed_with_defaults() {
    let s = parse_scenario(
        r#"{"topics": {"a": 3, "b": {"partitions": 2, "racks": [["r1"], ["r2"]]}},
            "brokerConfig": {"group.streams.max.size": 10, "group.streams.assignors": ["sticky"]},
            "steps": [
              {"at": 0, "heartbeat": {"groupId": "g", "memberId": "m", "memberEpoch": 0}},
              {"at": 1, "describe": {"groupIds": ["g"]}, "expect": {"groups": []}},
              {"at": 2, "groupConfig": {"groupId": "g", "streams.num.standby.replicas": 1}},
              {"at": 2, "foreignGroup": {"groupId": "c"}}
            ]}"#,
        "file.json",
    )
    .expect("valid");
    assert_eq!(s.name, "file.json");
    assert_eq!(s.assignor, "sticky");
    assert!(s.auto_create_internal_topics);
    assert_eq!(s.topics.len(), 2);
    assert_eq!(
        s.broker_config,
        vec![
            ("group.streams.assignors".to_string(), "sticky".to_string()),
            ("group.streams.max.size".to_string(), "10".to_string())
        ]
    );
    match &s.steps[0].action {
        Action::Heartbeat {
            request,
            version,
            client_id,
            client_host,
        } => {
            assert_eq!(request.rebalance_timeout_ms, -1, "schema default");
            assert!(request.active_tasks.is_none());
            assert_eq!(*version, 1);
            assert_eq!(client_id, "client");
            assert_eq!(client_host, "/127.0.0.1");
        }
        other => panic!("{other:?}"),
    }
    match &s.steps[2].action {
        Action::GroupConfig { group_id, configs } => {
            assert_eq!(group_id, "g");
            assert_eq!(
                configs,
                &vec![("streams.num.standby.replicas".to_string(), "1".to_string())]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn matching_rules_of_spec_08() {
    let m = |e: serde_json::Value, a: serde_json::Value| match_value(&e, Some(&a), "response");
    // partial objects
    assert!(m(json!({"a": 1}), json!({"a": 1, "b": 2})).is_none());
    let d = m(json!({"a": {"b": 1}}), json!({"a": {"b": 2}})).expect("differs");
    assert_eq!(d.path, "response.a.b");
    // absent key
    let d = m(json!({"x": null}), json!({})).expect("absent");
    assert_eq!(d.actual, None);
    // null matches only null
    assert!(m(json!({"x": null}), json!({"x": null})).is_none());
    assert!(m(json!({"x": null}), json!({"x": []})).is_some());
    assert!(m(json!({"x": []}), json!({"x": null})).is_some());
    // $any matches any present value, null included
    assert!(m(json!({"x": "$any"}), json!({"x": null})).is_none());
    assert!(m(json!({"x": "$any"}), json!({})).is_some());
    // numbers by value
    assert!(m(json!(1), json!(1.0)).is_none());
    assert!(m(json!(1), json!(2)).is_some());
    // arrays regardless of order, same length, distinct elements
    assert!(m(json!([1, 2, 3]), json!([3, 1, 2])).is_none());
    assert!(m(json!([1, 1]), json!([1, 2])).is_some());
    assert!(m(json!([1]), json!([1, 1])).is_some());
    assert!(m(
        json!([{"a": 1}, {"a": 1, "b": 2}]),
        json!([{"a": 1, "b": 2}, {"a": 1, "b": 3}])
    )
    .is_none());
    // a greedy first fit would fail here; a matching exists
    assert!(m(
        json!([{"a": 1}, {"a": 1, "b": 2}]),
        json!([{"a": 1, "b": 2}, {"a": 1}])
    )
    .is_none());
    let d = m(json!([{"a": 9}]), json!([{"a": 1}])).expect("differs");
    assert_eq!(d.path, "response[0]");
    // task entries without partitions are dropped
    assert!(m(
        json!([{"subtopologyId": "0", "partitions": [1]}]),
        json!([{"subtopologyId": "1", "partitions": []}, {"subtopologyId": "0", "partitions": [1]}])
    )
    .is_none());
    assert!(m(json!([]), json!([{"subtopologyId": "1", "partitions": []}])).is_none());
    // records as a multiset
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(match_records(&s(&["A", "-B", "A"]), &s(&["-B", "A", "A"])).is_none());
    assert!(match_records(&s(&["A"]), &s(&["A", "A"])).is_some());
}

/// A small deterministic generator (xorshift) for the random scenarios below.
/// One of `items` (never empty here).
fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    rng.pick(items).expect("a non-empty list")
}

fn random_tasks(rng: &mut Rng) -> serde_json::Value {
    let n = rng.below(3);
    let list: Vec<serde_json::Value> = (0..n)
        .map(|_| {
            let parts: Vec<i32> = (0..rng.below(4)).map(|_| rng.below(6) as i32).collect();
            json!({"subtopologyId": pick(rng, &["0", "1", "9"]), "partitions": parts})
        })
        .collect();
    json!(list)
}

fn random_step(rng: &mut Rng, at: i64) -> serde_json::Value {
    let member = *pick(rng, &["m1", "m2", "m3", "m4"]);
    let topology = |rng: &mut Rng| match rng.below(4) {
        0 => json!({"epoch": 0, "subtopologies": [{"subtopologyId": "0", "sourceTopics": ["a"]}]}),
        1 => json!({"epoch": 0, "subtopologies": [
            {"subtopologyId": "0", "sourceTopics": ["a"], "repartitionSinkTopics": ["r"]},
            {"subtopologyId": "1", "repartitionSourceTopics": [{"name": "r"}], "stateChangelogTopics": [{"name": "c"}]}]}),
        2 => {
            json!({"epoch": 1, "subtopologies": [{"subtopologyId": "0", "sourceTopics": ["a", "b"],
            "copartitionGroups": [{"sourceTopics": [0, 1]}]}]})
        }
        _ => {
            json!({"epoch": 0, "subtopologies": [{"subtopologyId": "0", "sourceTopics": ["missing"]}]})
        }
    };
    match rng.below(12) {
        0..=2 => {
            let mut hb = json!({"groupId": "g", "memberId": member, "memberEpoch": 0, "rebalanceTimeoutMs": 20000,
                "processId": pick(rng, &["p1", "p2"]), "activeTasks": [], "standbyTasks": [], "warmupTasks": []});
            hb["topology"] = topology(rng);
            if rng.below(3) == 0 {
                hb["instanceId"] = json!(format!("i-{member}"));
            }
            if rng.below(3) == 0 {
                hb["userEndpoint"] = json!({"host": member, "port": 1});
            }
            json!({"at": at, "heartbeat": hb})
        }
        3..=7 => {
            let epoch = *pick(rng, &[-2, -1, 1, 2, 3, 4, 5, 6, 8]);
            let mut hb = json!({"groupId": "g", "memberId": member, "memberEpoch": epoch});
            if epoch == -2 || rng.below(4) == 0 {
                hb["instanceId"] = json!(format!("i-{member}"));
            }
            if rng.below(2) == 0 {
                hb["activeTasks"] = random_tasks(rng);
                hb["standbyTasks"] = random_tasks(rng);
                hb["warmupTasks"] = random_tasks(rng);
            }
            if rng.below(6) == 0 {
                hb["taskOffsets"] = json!([{"subtopologyId": "0", "partition": 0, "offset": 5}]);
            }
            if rng.below(10) == 0 {
                hb["shutdownApplication"] = json!(true);
            }
            json!({"at": at, "heartbeat": hb, "clientHost": pick(rng, &["/127.0.0.1", "/10.0.0.1"])})
        }
        8 => json!({"at": at, "describe": {"groupIds": ["g", ""]}}),
        9 => json!({"at": at, "topics": {"a": 1 + rng.below(5), "b": 1 + rng.below(3)}}),
        10 => json!({"at": at, "groupConfig": {"groupId": "g",
            "streams.num.standby.replicas": rng.below(2), "streams.initial.rebalance.delay.ms": rng.below(2) * 3000}}),
        _ => json!({"at": at, "tick": true}),
    }
}

/// Random but valid scenarios: the runner and the coordinator never panic, and the replay
/// check (rebuild from the records, compare describe) holds after every step.
#[test]
fn random_scenarios_never_panic_and_always_replay() {
    for seed in 1..=60u64 {
        let mut rng = Rng::new(seed);
        let mut at = 0i64;
        let steps: Vec<serde_json::Value> = (0..60)
            .map(|_| {
                at += *pick(&mut rng, &[0, 100, 1000, 5000, 20000, 50000]);
                random_step(&mut rng, at)
            })
            .collect();
        let text = json!({"topics": {"a": 3, "b": 3}, "steps": steps}).to_string();
        let scenario = parse_scenario(&text, "random").expect("generated scenarios are valid");
        let mut replay_failures = Vec::new();
        let result = run_scenario(&scenario, &mut |o| {
            if o.replay_mismatch.is_some() {
                replay_failures.push(o.to_line("random"));
            }
        });
        assert!(result.is_ok(), "seed {seed}: {:?}", result.err());
        assert!(
            replay_failures.is_empty(),
            "seed {seed}: replay differs:\n{}\nscenario: {text}",
            replay_failures.join("\n")
        );
    }
}

#[test]
fn broker_settings_outside_streams_are_ignored_but_streams_typos_are_errors() {
    let with = |config: &str| {
        let text =
            format!(r#"{{"brokerConfig": {{{config}}}, "steps": [{{"at": 0, "tick": true}}]}}"#);
        let scenario = parse_scenario(&text, "t.json").expect("valid file");
        run_scenario(&scenario, &mut |_| {})
    };
    assert_eq!(with(r#""offsets.retention.minutes": 10080"#), Ok(true));
    let e = with(r#""group.streams.max.szie": 3"#).expect_err("a typo is an error");
    assert!(
        e.problem.contains("group.streams.max.szie"),
        "{}",
        e.problem
    );
    let e = with(r#""group.streams.max.size": 0"#).expect_err("out of bounds");
    assert!(
        e.problem.contains("group.streams.max.size"),
        "{}",
        e.problem
    );
}
