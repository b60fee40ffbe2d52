//! Behaviour of the `sticky` assignor (spec 05 §4) on small hand-made groups,
//! plus the registry, the configs and the rack-aware variant.

mod assignor_util;

use std::sync::Arc;

use assignor_util::*;
use streams_coordinator::assignor::*;

fn run<'a>(
    assignor: &StickyAssignor,
    g: &GroupSpec<'a>,
    space: &'a TaskSpace,
) -> GroupAssignment<'a> {
    let a = assignor.assign(g, space).expect("assign");
    invariants::check(g, space, &a).expect("invariants");
    a
}

fn sticky() -> StickyAssignor {
    StickyAssignor::new()
}

#[test]
fn range_like_from_empty() {
    // Spec 05 §4.6: two single-member processes, two subtopologies of two tasks.
    let space = TaskSpace::new([("s1", 2, true), ("s2", 2, true)]).unwrap();
    let members = [Member::new("A", "pA"), Member::new("B", "pB")];
    let c = standbys(1);
    let a = run(&sticky(), &group(&members, &c), &space);
    let act = actives(&a);
    assert_eq!(act["A"], ["s1_0", "s2_0"]);
    assert_eq!(act["B"], ["s1_1", "s2_1"]);
    let sb = standby_sets(&a);
    assert_eq!(sb["A"], ["s1_1", "s2_1"]);
    assert_eq!(sb["B"], ["s1_0", "s2_0"]);
}

#[test]
fn one_task_per_process_when_counts_match() {
    let space = TaskSpace::new([("s", 3, false)]).unwrap();
    let members = [
        Member::new("m1", "p1"),
        Member::new("m2", "p2"),
        Member::new("m3", "p3"),
    ];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    for m in a.members() {
        assert_eq!(m.active().len(), 1);
    }
}

#[test]
fn keeps_current_actives_and_moves_only_what_a_new_member_needs() {
    let space = TaskSpace::new([("s", 3, false)]).unwrap();
    let members = [
        Member::new("m1", "p1").active("s", &[0, 2]),
        Member::new("m2", "p2").active("s", &[1]),
        Member::new("m3", "p3"),
    ];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    let act = actives(&a);
    assert_eq!(act["m2"], ["s_1"]);
    assert_eq!(act["m1"].len(), 1);
    assert_eq!(act["m3"].len(), 1);
    assert!(act["m1"][0] == "s_0" || act["m1"][0] == "s_2");
}

#[test]
fn previous_standby_is_promoted_to_active() {
    // Owner of s_1 left; m1 held it as standby.
    let space = TaskSpace::new([("s", 2, true)]).unwrap();
    let members = [
        Member::new("m1", "p1").active("s", &[0]).standby("s", &[1]),
        Member::new("m2", "p2"),
    ];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    // quota ceil(2/2) = 1: m1 keeps s_0 and is full, so s_1 goes to m2.
    assert_eq!(actives(&a)["m2"], ["s_1"]);

    let members = [
        Member::new("m1", "p1").standby("s", &[1]),
        Member::new("m2", "p2").active("s", &[0]),
        Member::new("m3", "p3"),
    ];
    let a = run(&sticky(), &group(&members, &c), &space);
    assert_eq!(actives(&a)["m1"], ["s_1"]);
    assert_eq!(actives(&a)["m2"], ["s_0"]);
}

#[test]
fn standby_goes_to_previous_owner_below_quota() {
    let space = TaskSpace::new([("s", 2, true)]).unwrap();
    let members = [
        Member::new("m1", "p1").active("s", &[0]).standby("s", &[1]),
        Member::new("m2", "p2").active("s", &[1]),
        Member::new("m3", "p3"),
    ];
    let c = standbys(1);
    let a = run(&sticky(), &group(&members, &c), &space);
    let m1 = a.member("m1").unwrap();
    assert!(m1.active().contains("s", 0));
    assert!(m1.standby().contains("s", 1));
}

#[test]
fn former_active_owner_becomes_standby() {
    // m1 owned both tasks; quota 1 moves s_1 to m2; m1 keeps its state as standby.
    let space = TaskSpace::new([("s", 2, true)]).unwrap();
    let members = [
        Member::new("m1", "p1").active("s", &[0, 1]),
        Member::new("m2", "p2"),
    ];
    let c = standbys(1);
    let a = run(&sticky(), &group(&members, &c), &space);
    let m1 = a.member("m1").unwrap();
    assert_eq!(m1.active().len(), 1);
    assert_eq!(m1.standby().len(), 1);
    assert!(m1.active().contains("s", 0));
    assert!(m1.standby().contains("s", 1));
}

#[test]
fn standbys_never_share_a_process_with_their_active() {
    let space = TaskSpace::new([("s", 4, true)]).unwrap();
    // Two members in one process, one in another: one standby each.
    let members = [
        Member::new("a1", "pa"),
        Member::new("a2", "pa"),
        Member::new("b1", "pb"),
    ];
    let c = standbys(2);
    let a = run(&sticky(), &group(&members, &c), &space);
    // Only min(2, 2 - 1) = 1 standby per task is possible.
    let total: usize = a.members().map(|m| m.standby().len()).sum();
    assert_eq!(total, 4);
}

#[test]
fn no_standbys_with_a_single_process() {
    let space = TaskSpace::new([("s", 3, true)]).unwrap();
    let members = [Member::new("a", "p"), Member::new("b", "p")];
    let c = standbys(2);
    let a = run(&sticky(), &group(&members, &c), &space);
    assert!(a.members().all(|m| m.standby().is_empty()));
}

#[test]
fn stateless_tasks_get_no_standby() {
    let space = TaskSpace::new([("stateful", 2, true), ("stateless", 2, false)]).unwrap();
    let members = [
        Member::new("a", "pa"),
        Member::new("b", "pb"),
        Member::new("c", "pc"),
    ];
    let c = standbys(1);
    let a = run(&sticky(), &group(&members, &c), &space);
    for m in a.members() {
        assert!(m.standby().iter().all(|t| t.subtopology_id == "stateful"));
    }
}

#[test]
fn more_members_per_process_take_more_tasks() {
    let space = TaskSpace::new([("s", 9, false)]).unwrap();
    let members = [
        Member::new("a1", "pa"),
        Member::new("a2", "pa"),
        Member::new("b1", "pb"),
    ];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    let act = actives(&a);
    assert_eq!(act["a1"].len() + act["a2"].len(), 6);
    assert_eq!(act["b1"].len(), 3);
}

#[test]
fn reported_offsets_steer_a_cold_start() {
    // New member ids after a restart: only offsets tell where the state is.
    let space = TaskSpace::new([("s", 2, true)]).unwrap();
    let members = [
        Member::new("x", "p1").offset("s", 1, 100),
        Member::new("y", "p2").offset("s", 0, 100),
    ];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    assert_eq!(actives(&a)["x"], ["s_1"]);
    assert_eq!(actives(&a)["y"], ["s_0"]);
}

#[test]
fn most_caught_up_and_current_standbys_rank_first() {
    let space = TaskSpace::new([("s", 1, true)]).unwrap();
    // The owner left; three members know the task: y is a current standby
    // (no offset), x and z only reported offsets, z more than x.
    let members = [
        Member::new("x", "p1").offset("s", 0, 10),
        Member::new("y", "p2").standby("s", &[0]),
        Member::new("z", "p3").offset("s", 0, 50),
    ];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    assert_eq!(actives(&a)["y"], ["s_0"]);

    let members = [
        Member::new("x", "p1").offset("s", 0, 10),
        Member::new("z", "p3").offset("s", 0, 50),
    ];
    let a = run(&sticky(), &group(&members, &c), &space);
    assert_eq!(actives(&a)["z"], ["s_0"]);
}

#[test]
fn output_does_not_depend_on_member_order() {
    let space = TaskSpace::new([("a", 7, true), ("b", 5, false), ("c", 3, true)]).unwrap();
    let mut members: Vec<Member> = (0..9)
        .map(|i| {
            let mut m = Member::new(&format!("m{i}"), &format!("p{}", i % 4));
            if i % 3 == 0 {
                m = m.active("a", &[i, i + 1]).offset("c", i % 3, 10 * i as i64);
            }
            if i % 2 == 1 {
                m = m.standby("c", &[1, 2]).offset("a", i % 7, 5);
            }
            m
        })
        .collect();
    let c = standbys(2);
    let first = run(&sticky(), &group(&members, &c), &space).to_maps();
    members.reverse();
    let second = run(&sticky(), &group(&members, &c), &space).to_maps();
    members.swap(1, 5);
    let third = run(&sticky(), &group(&members, &c), &space).to_maps();
    assert_eq!(first, second);
    assert_eq!(first, third);
}

#[test]
fn ignores_tasks_outside_the_task_space() {
    let space = TaskSpace::new([("s", 2, true)]).unwrap();
    let members = [
        Member::new("a", "pa")
            .active("gone", &[0])
            .active("s", &[5, -1, 1])
            .offset("zz", 0, 1),
        Member::new("b", "pb").standby("s", &[9]),
    ];
    let c = standbys(1);
    let a = run(&sticky(), &group(&members, &c), &space);
    assert!(a.member("a").unwrap().active().contains("s", 1));
}

#[test]
fn every_member_gets_an_entry_and_errors_are_typed() {
    let space = TaskSpace::new([("s", 1, false)]).unwrap();
    let members = [Member::new("a", "p"), Member::new("b", "p")];
    let c = standbys(0);
    let a = run(&sticky(), &group(&members, &c), &space);
    assert_eq!(a.len(), 2);
    assert_eq!(a.members().map(|m| m.active().len()).sum::<usize>(), 1);

    let empty: [Member; 0] = [];
    let err = sticky().assign(&group(&empty, &c), &space).unwrap_err();
    assert_eq!(
        err,
        AssignorError::NoProcessAvailable { task: "s_0".into() }
    );
    assert_eq!(
        err.to_string(),
        "No process available to assign active task s_0."
    );
    let none = TaskSpace::new(Vec::<(String, u32, bool)>::new()).unwrap();
    assert!(sticky()
        .assign(&group(&empty, &c), &none)
        .unwrap()
        .is_empty());

    let dup = [Member::new("a", "p"), Member::new("a", "q")];
    assert!(matches!(
        sticky().assign(&group(&dup, &c), &space),
        Err(AssignorError::DuplicateMember { .. })
    ));
    let too_many = standbys(MAX_STANDBY_REPLICAS + 1);
    assert!(matches!(
        sticky().assign(&group(&members, &too_many), &space),
        Err(AssignorError::InvalidConfig { .. })
    ));
}

#[test]
fn registry_selects_by_name_and_falls_back_to_the_default() {
    let reg = AssignorRegistry::default();
    assert_eq!(
        reg.names().collect::<Vec<_>>(),
        ["sticky", "sticky-rack-aware"]
    );
    assert_eq!(reg.select(None).unwrap().name(), "sticky");
    assert_eq!(
        reg.select(Some("sticky-rack-aware")).unwrap().name(),
        "sticky-rack-aware"
    );
    assert_eq!(reg.select(Some("unknown")).unwrap().name(), "sticky");
    let mut reg2 = reg.clone();
    assert!(matches!(
        reg2.register(Arc::new(StickyAssignor::new())),
        Err(AssignorError::DuplicateAssignor { .. })
    ));
    let only = reg.select_list(&["sticky-rack-aware"]).unwrap();
    assert_eq!(only.select(None).unwrap().name(), "sticky-rack-aware");
    assert!(reg.select_list(&["nope"]).is_err());
    assert!(AssignorRegistry::empty().select(None).is_err());
}

/// A custom assignor written against the public API: everything to the
/// first member, through the builder.
struct AllToFirst;
impl TaskAssignor for AllToFirst {
    fn name(&self) -> &str {
        "all-to-first"
    }
    fn assign<'a>(
        &self,
        group: &GroupSpec<'a>,
        space: &'a TaskSpace,
    ) -> Result<GroupAssignment<'a>, AssignorError> {
        let mut b = GroupAssignmentBuilder::new(group, space)?;
        let first =
            group
                .members
                .iter()
                .map(|m| m.member_id)
                .min()
                .ok_or(AssignorError::Failed {
                    message: "no members".into(),
                })?;
        for s in space.subtopologies() {
            for p in 0..s.num_tasks as i32 {
                b.add_active(first, s.id, p)?;
            }
        }
        Ok(b.build())
    }
}

#[test]
fn custom_assignors_register_and_the_checker_catches_them() {
    let mut reg = AssignorRegistry::default();
    reg.register(Arc::new(AllToFirst)).unwrap();
    let space = TaskSpace::new([("s", 4, false)]).unwrap();
    let members = [Member::new("a", "pa"), Member::new("b", "pb")];
    let c = standbys(0);
    let g = group(&members, &c);
    let a = reg
        .select(Some("all-to-first"))
        .unwrap()
        .assign(&g, &space)
        .unwrap();
    assert_eq!(a.member("a").unwrap().active().len(), 4);
    let err = invariants::check(&g, &space, &a).unwrap_err();
    assert!(err
        .violations
        .iter()
        .any(|v| matches!(v, invariants::Violation::ActiveQuotaExceeded { .. })));
    invariants::check_with(
        &g,
        &space,
        &a,
        invariants::Checks {
            balance: false,
            ..Default::default()
        },
    )
    .unwrap();

    let mut b = GroupAssignmentBuilder::new(&g, &space).unwrap();
    b.add_active("a", "s", 0).unwrap();
    b.add_standby("a", "s", 0).unwrap();
    assert!(b.add_active("zz", "s", 0).is_err());
    assert!(b.add_active("a", "s", 4).is_err());
    assert!(b.add_active("a", "t", 0).is_err());
    let bad = b.build();
    let v = invariants::check(&g, &space, &bad).unwrap_err().violations;
    assert!(v
        .iter()
        .any(|v| matches!(v, invariants::Violation::Unassigned { .. })));
    assert!(v
        .iter()
        .any(|v| matches!(v, invariants::Violation::TwoCopiesOnProcess { .. })));
}

fn zone_members(n: usize, zones: &[&str]) -> Vec<Member> {
    (0..n)
        .map(|i| {
            Member::new(&format!("m{i:02}"), &format!("p{i:02}"))
                .tag("zone", zones[i % zones.len()])
        })
        .collect()
}

#[test]
fn rack_aware_spreads_standbys_over_zones() {
    let space = TaskSpace::new([("s", 12, true)]).unwrap();
    // Processes p00..p05 in zones a, a, b, b, c, c (interleaved by index).
    let members: Vec<Member> = zone_members(6, &["a", "a", "b", "b", "c", "c"]);
    let mut c = standbys(2);
    c.rack_aware_assignment_tags = vec!["zone".into()];
    let zone_of = |id: &str| members.iter().find(|m| m.id == id).unwrap().tags["zone"].clone();
    let a = run(&StickyAssignor::rack_aware(), &group(&members, &c), &space);
    for p in 0..12 {
        let mut zones: Vec<String> = a
            .members()
            .filter(|m| m.active().contains("s", p) || m.standby().contains("s", p))
            .map(|m| zone_of(m.member_id()))
            .collect();
        zones.sort();
        assert_eq!(zones, ["a", "b", "c"], "task s_{p}");
    }
    // The trunk assignor ignores tags and does not spread them all.
    let plain = run(&sticky(), &group(&members, &c), &space);
    let spread = (0..12).all(|p| {
        let mut zones: Vec<String> = plain
            .members()
            .filter(|m| m.active().contains("s", p) || m.standby().contains("s", p))
            .map(|m| zone_of(m.member_id()))
            .collect();
        zones.sort();
        zones.dedup();
        zones.len() == 3
    });
    assert!(!spread);
}

#[test]
fn rack_aware_reuses_a_value_once_all_are_used_and_falls_back() {
    // Two zones, two standbys: the first standby must change zone, the
    // second cannot, so it goes anywhere free.
    let space = TaskSpace::new([("s", 4, true)]).unwrap();
    let members = zone_members(4, &["a", "b"]);
    let mut c = standbys(2);
    c.rack_aware_assignment_tags = vec!["zone".into()];
    let a = run(&StickyAssignor::rack_aware(), &group(&members, &c), &space);
    for p in 0..4 {
        let zones: Vec<&str> = a
            .members()
            .filter(|m| m.active().contains("s", p) || m.standby().contains("s", p))
            .map(|m| members.iter().find(|x| x.id == m.member_id()).unwrap().tags["zone"].as_str())
            .collect();
        assert_eq!(zones.len(), 3);
        assert!(zones.contains(&"a") && zones.contains(&"b"));
    }
    // One zone only: tags cannot constrain anything, output equals trunk's.
    let members = zone_members(4, &["a"]);
    let plain = run(&sticky(), &group(&members, &c), &space).to_maps();
    let aware = run(&StickyAssignor::rack_aware(), &group(&members, &c), &space).to_maps();
    assert_eq!(plain, aware);
}

#[test]
fn missing_client_tags_are_reported() {
    let required = vec!["zone".to_owned(), "rack".to_owned()];
    let m = Member::new("a", "p").tag("zone", "z1");
    let missing = missing_client_tags(&required, &m.tags);
    assert_eq!(missing, ["rack"]);
    assert!(missing_client_tags_detail(&missing)
        .unwrap()
        .contains("[rack]"));
}
