//! Broker-level and per-group settings of streams groups, with Kafka's names,
//! defaults and bounds (spec 07 §5).

use thiserror::Error;

/// A setting was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The name is not a streams-group setting.
    #[error("unknown configuration `{0}`")]
    Unknown(String),
    /// The value does not parse as the setting's type.
    #[error("invalid value `{value}` for configuration `{name}`: {reason}")]
    InvalidValue {
        /// Setting name.
        name: String,
        /// The rejected value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// The settings contradict each other (e.g. heartbeat interval ≥ session timeout).
    #[error("inconsistent configuration: {0}")]
    Inconsistent(String),
}

/// Broker-level settings for streams groups. `Default` gives Kafka's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// `group.streams.session.timeout.ms` (45000).
    pub session_timeout_ms: i32,
    /// `group.streams.min.session.timeout.ms` (45000).
    pub min_session_timeout_ms: i32,
    /// `group.streams.max.session.timeout.ms` (60000).
    pub max_session_timeout_ms: i32,
    /// `group.streams.heartbeat.interval.ms` (5000).
    pub heartbeat_interval_ms: i32,
    /// `group.streams.min.heartbeat.interval.ms` (5000).
    pub min_heartbeat_interval_ms: i32,
    /// `group.streams.max.heartbeat.interval.ms` (15000).
    pub max_heartbeat_interval_ms: i32,
    /// `group.streams.max.size` (2147483647).
    pub max_size: i32,
    /// `group.streams.num.standby.replicas` (0).
    pub num_standby_replicas: i32,
    /// `group.streams.max.standby.replicas` (2).
    pub max_standby_replicas: i32,
    /// `group.streams.initial.rebalance.delay.ms` (3000).
    pub initial_rebalance_delay_ms: i32,
    /// `group.streams.assignment.interval.ms` (1000).
    pub assignment_interval_ms: i32,
    /// `group.streams.min.assignment.interval.ms` (0).
    pub min_assignment_interval_ms: i32,
    /// `group.streams.max.assignment.interval.ms` (15000).
    pub max_assignment_interval_ms: i32,
    /// `group.streams.assignors` (`sticky`); the first entry is the default.
    pub assignors: Vec<String>,
    /// `group.streams.rack.aware.assignment.tags` (empty).
    pub rack_aware_assignment_tags: Vec<String>,
    /// `group.streams.assignor.offload.enable` (true; ignored for streams groups).
    pub assignor_offload_enable: bool,
    /// `group.streams.task.offset.interval.ms` (60000).
    pub task_offset_interval_ms: i32,
    /// `group.streams.min.task.offset.interval.ms` (15000).
    pub min_task_offset_interval_ms: i32,
    /// `group.streams.num.warmup.replicas` (2).
    pub num_warmup_replicas: i32,
    /// `group.streams.max.warmup.replicas` (20).
    pub max_warmup_replicas: i32,
    /// `group.streams.acceptable.recovery.lag` (10000).
    pub acceptable_recovery_lag: i64,
    /// `group.coordinator.rebalance.protocols` (`classic,consumer,streams`).
    pub rebalance_protocols: Vec<RebalanceProtocol>,
}

/// A group protocol of `group.coordinator.rebalance.protocols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RebalanceProtocol {
    /// `classic`: the JoinGroup/SyncGroup protocol (cannot be disabled).
    Classic,
    /// `consumer`: KIP-848 consumer groups.
    Consumer,
    /// `share`: share groups.
    Share,
    /// `streams`: KIP-1071 streams groups, this crate's.
    Streams,
}

impl RebalanceProtocol {
    /// Every protocol, in the order Kafka documents them.
    pub const ALL: [RebalanceProtocol; 4] = [
        RebalanceProtocol::Classic,
        RebalanceProtocol::Consumer,
        RebalanceProtocol::Share,
        RebalanceProtocol::Streams,
    ];

    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            RebalanceProtocol::Classic => "classic",
            RebalanceProtocol::Consumer => "consumer",
            RebalanceProtocol::Share => "share",
            RebalanceProtocol::Streams => "streams",
        }
    }

    /// The protocol a config entry names. As Kafka's broker config, only the
    /// exact lowercase names are valid (its validator compares them
    /// case-sensitively): `Streams` names none.
    pub fn parse(name: &str) -> Option<RebalanceProtocol> {
        RebalanceProtocol::ALL
            .into_iter()
            .find(|p| p.name() == name)
    }
}

/// `group.coordinator.rebalance.protocols`, validated as Kafka's broker does:
/// known names only, no duplicates, not empty, `classic` included.
fn parse_protocols(name: &str, value: &str) -> Result<Vec<RebalanceProtocol>, ConfigError> {
    let mut out = Vec::new();
    for entry in parse_list(value) {
        let Some(p) = RebalanceProtocol::parse(&entry) else {
            return Err(invalid(
                name,
                value,
                format!("{entry} is not one of classic, consumer, share, streams"),
            ));
        };
        if out.contains(&p) {
            return Err(invalid(name, value, "must not contain duplicates"));
        }
        out.push(p);
    }
    if !out.contains(&RebalanceProtocol::Classic) {
        return Err(invalid(
            name,
            value,
            "disabling the classic protocol is not supported",
        ));
    }
    Ok(out)
}

impl Default for CoordinatorConfig {
    fn default() -> Self {
        CoordinatorConfig {
            session_timeout_ms: 45000,
            min_session_timeout_ms: 45000,
            max_session_timeout_ms: 60000,
            heartbeat_interval_ms: 5000,
            min_heartbeat_interval_ms: 5000,
            max_heartbeat_interval_ms: 15000,
            max_size: i32::MAX,
            num_standby_replicas: 0,
            max_standby_replicas: 2,
            initial_rebalance_delay_ms: 3000,
            assignment_interval_ms: 1000,
            min_assignment_interval_ms: 0,
            max_assignment_interval_ms: 15000,
            assignors: vec!["sticky".to_string()],
            rack_aware_assignment_tags: Vec::new(),
            assignor_offload_enable: true,
            task_offset_interval_ms: 60000,
            min_task_offset_interval_ms: 15000,
            num_warmup_replicas: 2,
            max_warmup_replicas: 20,
            acceptable_recovery_lag: 10000,
            rebalance_protocols: vec![
                RebalanceProtocol::Classic,
                RebalanceProtocol::Consumer,
                RebalanceProtocol::Streams,
            ],
        }
    }
}

fn invalid(name: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        name: name.to_string(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

fn parse_int(name: &str, value: &str, at_least: i32) -> Result<i32, ConfigError> {
    let v: i32 = value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "not a 32-bit integer"))?;
    if v < at_least {
        return Err(invalid(name, value, format!("must be at least {at_least}")));
    }
    Ok(v)
}

fn parse_long(name: &str, value: &str, at_least: i64) -> Result<i64, ConfigError> {
    let v: i64 = value
        .trim()
        .parse()
        .map_err(|_| invalid(name, value, "not a 64-bit integer"))?;
    if v < at_least {
        return Err(invalid(name, value, format!("must be at least {at_least}")));
    }
    Ok(v)
}

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(name, value, "not a boolean")),
    }
}

/// Kafka's list syntax: comma separated, entries trimmed, empty entries dropped.
fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn check_tags(name: &str, value: &str, tags: &[String]) -> Result<(), ConfigError> {
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].contains(t) {
            return Err(invalid(name, value, "must not contain duplicate tag keys"));
        }
    }
    Ok(())
}

impl CoordinatorConfig {
    /// Sets one broker setting by its Kafka name; checks the value's type and
    /// single-value bound. Cross-setting rules are checked by [`Self::validate`].
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "group.streams.session.timeout.ms" => {
                self.session_timeout_ms = parse_int(name, value, 1)?
            }
            "group.streams.min.session.timeout.ms" => {
                self.min_session_timeout_ms = parse_int(name, value, 1)?
            }
            "group.streams.max.session.timeout.ms" => {
                self.max_session_timeout_ms = parse_int(name, value, 1)?
            }
            "group.streams.heartbeat.interval.ms" => {
                self.heartbeat_interval_ms = parse_int(name, value, 1)?
            }
            "group.streams.min.heartbeat.interval.ms" => {
                self.min_heartbeat_interval_ms = parse_int(name, value, 1)?
            }
            "group.streams.max.heartbeat.interval.ms" => {
                self.max_heartbeat_interval_ms = parse_int(name, value, 1)?
            }
            "group.streams.max.size" => self.max_size = parse_int(name, value, 1)?,
            "group.streams.num.standby.replicas" => {
                self.num_standby_replicas = parse_int(name, value, 0)?
            }
            "group.streams.max.standby.replicas" => {
                self.max_standby_replicas = parse_int(name, value, 0)?
            }
            "group.streams.initial.rebalance.delay.ms" => {
                self.initial_rebalance_delay_ms = parse_int(name, value, 0)?
            }
            "group.streams.assignment.interval.ms" => {
                self.assignment_interval_ms = parse_int(name, value, 0)?
            }
            "group.streams.min.assignment.interval.ms" => {
                self.min_assignment_interval_ms = parse_int(name, value, 0)?
            }
            "group.streams.max.assignment.interval.ms" => {
                self.max_assignment_interval_ms = parse_int(name, value, 0)?
            }
            "group.streams.assignors" => {
                let list = parse_list(value);
                if list.is_empty() {
                    return Err(invalid(name, value, "must name at least one assignor"));
                }
                self.assignors = list;
            }
            "group.streams.rack.aware.assignment.tags" => {
                let tags = parse_list(value);
                check_tags(name, value, &tags)?;
                self.rack_aware_assignment_tags = tags;
            }
            "group.streams.assignor.offload.enable" => {
                self.assignor_offload_enable = parse_bool(name, value)?
            }
            "group.streams.task.offset.interval.ms" => {
                self.task_offset_interval_ms = parse_int(name, value, 1)?
            }
            "group.streams.min.task.offset.interval.ms" => {
                self.min_task_offset_interval_ms = parse_int(name, value, 1)?
            }
            "group.streams.num.warmup.replicas" => {
                self.num_warmup_replicas = parse_int(name, value, 0)?
            }
            "group.streams.max.warmup.replicas" => {
                self.max_warmup_replicas = parse_int(name, value, 0)?
            }
            "group.streams.acceptable.recovery.lag" => {
                self.acceptable_recovery_lag = parse_long(name, value, 0)?
            }
            "group.coordinator.rebalance.protocols" => {
                self.rebalance_protocols = parse_protocols(name, value)?
            }
            "group.streams.topology.description.plugin.class" => {
                if !value.trim().is_empty() {
                    return Err(invalid(
                        name,
                        value,
                        "topology description plugins are not supported by this coordinator",
                    ));
                }
            }
            _ => return Err(ConfigError::Unknown(name.to_string())),
        }
        Ok(())
    }

    /// Checks the cross-setting rules Kafka enforces at broker start-up.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rules: [(bool, &str); 11] = [
            (
                self.max_heartbeat_interval_ms >= self.min_heartbeat_interval_ms,
                "group.streams.max.heartbeat.interval.ms must be >= group.streams.min.heartbeat.interval.ms",
            ),
            (
                self.heartbeat_interval_ms >= self.min_heartbeat_interval_ms,
                "group.streams.heartbeat.interval.ms must be >= group.streams.min.heartbeat.interval.ms",
            ),
            (
                self.heartbeat_interval_ms <= self.max_heartbeat_interval_ms,
                "group.streams.heartbeat.interval.ms must be <= group.streams.max.heartbeat.interval.ms",
            ),
            (
                self.max_session_timeout_ms >= self.min_session_timeout_ms,
                "group.streams.max.session.timeout.ms must be >= group.streams.min.session.timeout.ms",
            ),
            (
                self.session_timeout_ms >= self.min_session_timeout_ms,
                "group.streams.session.timeout.ms must be >= group.streams.min.session.timeout.ms",
            ),
            (
                self.session_timeout_ms <= self.max_session_timeout_ms,
                "group.streams.session.timeout.ms must be <= group.streams.max.session.timeout.ms",
            ),
            (
                self.heartbeat_interval_ms < self.session_timeout_ms,
                "group.streams.heartbeat.interval.ms must be < group.streams.session.timeout.ms",
            ),
            (
                self.max_assignment_interval_ms >= self.min_assignment_interval_ms
                    && self.assignment_interval_ms >= self.min_assignment_interval_ms
                    && self.assignment_interval_ms <= self.max_assignment_interval_ms,
                "group.streams.assignment.interval.ms must lie within its min and max bounds",
            ),
            (
                self.num_standby_replicas <= self.max_standby_replicas,
                "group.streams.num.standby.replicas must be <= group.streams.max.standby.replicas",
            ),
            (
                self.task_offset_interval_ms >= self.min_task_offset_interval_ms,
                "group.streams.task.offset.interval.ms must be >= group.streams.min.task.offset.interval.ms",
            ),
            (
                self.num_warmup_replicas <= self.max_warmup_replicas,
                "group.streams.num.warmup.replicas must be <= group.streams.max.warmup.replicas",
            ),
        ];
        for (ok, msg) in rules {
            if !ok {
                return Err(ConfigError::Inconsistent(msg.to_string()));
            }
        }
        Ok(())
    }

    /// True when `streams` is among `group.coordinator.rebalance.protocols`:
    /// the one rule for whether the streams APIs are served (the service and
    /// the broker layer ask it).
    pub fn streams_enabled(&self) -> bool {
        self.rebalance_protocols
            .contains(&RebalanceProtocol::Streams)
    }
}

/// Per-group dynamic overrides (`streams.*`), each `None` when unset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupConfig {
    /// `streams.session.timeout.ms`.
    pub session_timeout_ms: Option<i32>,
    /// `streams.heartbeat.interval.ms`.
    pub heartbeat_interval_ms: Option<i32>,
    /// `streams.num.standby.replicas`.
    pub num_standby_replicas: Option<i32>,
    /// `streams.initial.rebalance.delay.ms`.
    pub initial_rebalance_delay_ms: Option<i32>,
    /// `streams.assignment.interval.ms`.
    pub assignment_interval_ms: Option<i32>,
    /// `streams.rack.aware.assignment.tags`.
    pub rack_aware_assignment_tags: Option<Vec<String>>,
    /// `streams.assignor.offload.enable` (ignored for streams groups).
    pub assignor_offload_enable: Option<bool>,
    /// `streams.task.offset.interval.ms`.
    pub task_offset_interval_ms: Option<i32>,
    /// `streams.num.warmup.replicas`.
    pub num_warmup_replicas: Option<i32>,
    /// `streams.acceptable.recovery.lag`.
    pub acceptable_recovery_lag: Option<i64>,
    /// `streams.assignor.name`.
    pub assignor_name: Option<String>,
}

fn within(name: &str, value: &str, v: i32, lo: i32, hi: i32) -> Result<i32, ConfigError> {
    if v < lo || v > hi {
        return Err(invalid(
            name,
            value,
            format!("must be between {lo} and {hi}"),
        ));
    }
    Ok(v)
}

/// One change of a group's `streams.*` settings: the SET and DELETE
/// operations of IncrementalAlterConfigs on a GROUP resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupConfigOp {
    /// Overrides the setting `name` with `value` for the group.
    Set {
        /// Setting name, e.g. `streams.num.standby.replicas`.
        name: String,
        /// The new value, as text.
        value: String,
    },
    /// Removes the group's override of `name`, so the broker default applies
    /// again. Removing a setting that is not overridden changes nothing.
    Delete {
        /// Setting name, e.g. `streams.num.standby.replicas`.
        name: String,
    },
}

impl GroupConfigOp {
    /// The setting this operation changes.
    pub fn name(&self) -> &str {
        match self {
            GroupConfigOp::Set { name, .. } | GroupConfigOp::Delete { name } => name,
        }
    }

    /// The new value (`None` for [`GroupConfigOp::Delete`]).
    pub fn value(&self) -> Option<&str> {
        match self {
            GroupConfigOp::Set { value, .. } => Some(value),
            GroupConfigOp::Delete { .. } => None,
        }
    }
}

impl GroupConfig {
    /// Sets one group setting by its Kafka name, validated against the broker
    /// bounds (`INVALID_CONFIG` on the wire when rejected). `is_registered`
    /// tells whether an assignor name is known.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        broker: &CoordinatorConfig,
        is_registered: impl Fn(&str) -> bool,
    ) -> Result<(), ConfigError> {
        self.apply(name, Some(value), broker, is_registered)
    }

    /// Removes the override of one group setting by its Kafka name, so the
    /// broker default applies; a name that is not a group setting is
    /// [`ConfigError::Unknown`], one that is not overridden is left as it is.
    pub fn remove(&mut self, name: &str) -> Result<(), ConfigError> {
        self.apply(name, None, &CoordinatorConfig::default(), |_| true)
    }

    /// True when no setting is overridden.
    pub fn is_empty(&self) -> bool {
        *self == GroupConfig::default()
    }

    /// Sets (`Some`) or removes (`None`) one setting: the one place that knows
    /// the names, types and bounds of the group settings.
    fn apply(
        &mut self,
        name: &str,
        value: Option<&str>,
        broker: &CoordinatorConfig,
        is_registered: impl Fn(&str) -> bool,
    ) -> Result<(), ConfigError> {
        let int_within = |v: &str, at_least: i32, lo: i32, hi: i32| {
            within(name, v, parse_int(name, v, at_least)?, lo, hi)
        };
        match name {
            "streams.session.timeout.ms" => {
                self.session_timeout_ms = value
                    .map(|v| {
                        int_within(
                            v,
                            1,
                            broker.min_session_timeout_ms,
                            broker.max_session_timeout_ms,
                        )
                    })
                    .transpose()?
            }
            "streams.heartbeat.interval.ms" => {
                self.heartbeat_interval_ms = value
                    .map(|v| {
                        int_within(
                            v,
                            1,
                            broker.min_heartbeat_interval_ms,
                            broker.max_heartbeat_interval_ms,
                        )
                    })
                    .transpose()?
            }
            "streams.num.standby.replicas" => {
                self.num_standby_replicas = value
                    .map(|v| int_within(v, 0, 0, broker.max_standby_replicas))
                    .transpose()?
            }
            "streams.initial.rebalance.delay.ms" => {
                self.initial_rebalance_delay_ms =
                    value.map(|v| parse_int(name, v, 0)).transpose()?
            }
            "streams.assignment.interval.ms" => {
                self.assignment_interval_ms = value
                    .map(|v| {
                        int_within(
                            v,
                            0,
                            broker.min_assignment_interval_ms,
                            broker.max_assignment_interval_ms,
                        )
                    })
                    .transpose()?
            }
            "streams.rack.aware.assignment.tags" => {
                self.rack_aware_assignment_tags = value
                    .map(|v| {
                        let tags = parse_list(v);
                        check_tags(name, v, &tags).map(|()| tags)
                    })
                    .transpose()?
            }
            "streams.assignor.offload.enable" => {
                self.assignor_offload_enable = value.map(|v| parse_bool(name, v)).transpose()?
            }
            "streams.task.offset.interval.ms" => {
                self.task_offset_interval_ms = value
                    .map(|v| int_within(v, 1, broker.min_task_offset_interval_ms, i32::MAX))
                    .transpose()?
            }
            "streams.num.warmup.replicas" => {
                self.num_warmup_replicas = value
                    .map(|v| int_within(v, 0, 0, broker.max_warmup_replicas))
                    .transpose()?
            }
            "streams.acceptable.recovery.lag" => {
                self.acceptable_recovery_lag = value.map(|v| parse_long(name, v, 0)).transpose()?
            }
            "streams.assignor.name" => {
                self.assignor_name = value
                    .map(|v| {
                        let trimmed = v.trim();
                        if is_registered(trimmed) {
                            Ok(trimmed.to_string())
                        } else {
                            Err(invalid(name, v, "no assignor of that name is registered"))
                        }
                    })
                    .transpose()?
            }
            _ => return Err(ConfigError::Unknown(name.to_string())),
        }
        Ok(())
    }

    /// Checks the rule that the heartbeat interval stays below the session timeout.
    pub fn validate(&self, broker: &CoordinatorConfig) -> Result<(), ConfigError> {
        let hb = self
            .heartbeat_interval_ms
            .unwrap_or(broker.heartbeat_interval_ms);
        let st = self.session_timeout_ms.unwrap_or(broker.session_timeout_ms);
        if hb >= st {
            return Err(ConfigError::Inconsistent(format!(
                "streams.heartbeat.interval.ms ({hb}) must be less than streams.session.timeout.ms ({st})"
            )));
        }
        Ok(())
    }
}

/// The settings in force for one group: the group override, clamped to the
/// broker bounds, else the broker value. Borrowed, so resolving it allocates nothing.
#[derive(Clone, Copy, Debug)]
pub(super) struct Effective<'a> {
    /// Session timeout.
    pub(super) session_timeout_ms: i32,
    /// Heartbeat interval.
    pub(super) heartbeat_interval_ms: i32,
    /// Number of standby replicas.
    pub(super) num_standby_replicas: i32,
    /// Initial rebalance delay.
    pub(super) initial_rebalance_delay_ms: i32,
    /// Assignment interval.
    pub(super) assignment_interval_ms: i32,
    /// Rack-aware assignment tags.
    pub(super) rack_aware_assignment_tags: &'a [String],
    /// Task offset interval.
    pub(super) task_offset_interval_ms: i32,
    /// Acceptable recovery lag.
    pub(super) acceptable_recovery_lag: i64,
    /// Number of warm-up replicas (the warm-up budget of the group).
    pub(super) num_warmup_replicas: i32,
    /// The group's `streams.assignor.name`, if set.
    pub(super) assignor_name: Option<&'a str>,
}

impl<'a> Effective<'a> {
    /// Resolves the group's settings.
    pub(super) fn resolve(broker: &'a CoordinatorConfig, group: Option<&'a GroupConfig>) -> Self {
        let clamp = |v: Option<i32>, lo: i32, hi: i32, dflt: i32| match v {
            Some(x) => x.clamp(lo, hi.max(lo)),
            None => dflt,
        };
        let g = group;
        Effective {
            session_timeout_ms: clamp(
                g.and_then(|g| g.session_timeout_ms),
                broker.min_session_timeout_ms,
                broker.max_session_timeout_ms,
                broker.session_timeout_ms,
            ),
            heartbeat_interval_ms: clamp(
                g.and_then(|g| g.heartbeat_interval_ms),
                broker.min_heartbeat_interval_ms,
                broker.max_heartbeat_interval_ms,
                broker.heartbeat_interval_ms,
            ),
            num_standby_replicas: clamp(
                g.and_then(|g| g.num_standby_replicas),
                0,
                broker.max_standby_replicas,
                broker.num_standby_replicas,
            ),
            initial_rebalance_delay_ms: g
                .and_then(|g| g.initial_rebalance_delay_ms)
                .unwrap_or(broker.initial_rebalance_delay_ms),
            assignment_interval_ms: clamp(
                g.and_then(|g| g.assignment_interval_ms),
                broker.min_assignment_interval_ms,
                broker.max_assignment_interval_ms,
                broker.assignment_interval_ms,
            ),
            rack_aware_assignment_tags: g
                .and_then(|g| g.rack_aware_assignment_tags.as_deref())
                .unwrap_or(&broker.rack_aware_assignment_tags),
            task_offset_interval_ms: clamp(
                g.and_then(|g| g.task_offset_interval_ms),
                broker.min_task_offset_interval_ms,
                i32::MAX,
                broker.task_offset_interval_ms,
            ),
            acceptable_recovery_lag: g
                .and_then(|g| g.acceptable_recovery_lag)
                .unwrap_or(broker.acceptable_recovery_lag),
            num_warmup_replicas: clamp(
                g.and_then(|g| g.num_warmup_replicas),
                0,
                broker.max_warmup_replicas,
                broker.num_warmup_replicas,
            ),
            assignor_name: g.and_then(|g| g.assignor_name.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's rule for `group.coordinator.rebalance.protocols`: its validator
    /// accepts the exact lowercase names only, and `classic` is mandatory.
    #[test]
    fn rebalance_protocols_follow_kafkas_rule() {
        let name = "group.coordinator.rebalance.protocols";
        let mut c = CoordinatorConfig::default();
        assert!(c.streams_enabled());
        c.set(name, "classic,consumer").unwrap();
        assert!(!c.streams_enabled());
        c.set(name, " classic , streams ").unwrap();
        assert!(c.streams_enabled());
        assert_eq!(
            c.rebalance_protocols,
            [RebalanceProtocol::Classic, RebalanceProtocol::Streams]
        );
        for bad in [
            "classic,Streams",
            "classic,STREAMS",
            "streams",
            "",
            "classic,streams,streams",
            "classic,other",
        ] {
            let before = c.clone();
            assert!(c.set(name, bad).is_err(), "{bad:?} accepted");
            assert_eq!(c, before, "a rejected value changed the config");
        }
        for p in RebalanceProtocol::ALL {
            assert_eq!(RebalanceProtocol::parse(p.name()), Some(p));
        }
    }

    #[test]
    fn defaults_are_valid_and_kafkas() {
        let c = CoordinatorConfig::default();
        c.validate().unwrap();
        assert_eq!(c.session_timeout_ms, 45000);
        assert_eq!(c.assignors, vec!["sticky".to_string()]);
    }

    #[test]
    fn set_checks_bounds() {
        let mut c = CoordinatorConfig::default();
        assert!(c.set("group.streams.max.size", "0").is_err());
        assert!(c.set("group.streams.nope", "1").is_err());
        c.set("group.streams.heartbeat.interval.ms", "50000")
            .unwrap();
        assert!(c.validate().is_err());
        let mut g = GroupConfig::default();
        let b = CoordinatorConfig::default();
        assert!(g
            .set("streams.session.timeout.ms", "1000", &b, |_| true)
            .is_err());
        g.set("streams.session.timeout.ms", "50000", &b, |_| true)
            .unwrap();
        assert!(g
            .set("streams.num.standby.replicas", "3", &b, |_| true)
            .is_err());
        assert!(g
            .set("streams.rack.aware.assignment.tags", "a,a", &b, |_| true)
            .is_err());
        assert!(g.set("streams.assignor.name", "x", &b, |_| false).is_err());
    }

    #[test]
    fn remove_resets_one_setting_and_knows_the_names() {
        let b = CoordinatorConfig::default();
        let mut g = GroupConfig::default();
        g.set("streams.num.standby.replicas", "1", &b, |_| true)
            .unwrap();
        g.set("streams.assignor.name", " sticky ", &b, |_| true)
            .unwrap();
        assert_eq!(g.assignor_name.as_deref(), Some("sticky"));
        g.remove("streams.num.standby.replicas").unwrap();
        assert_eq!(g.num_standby_replicas, None);
        assert!(!g.is_empty());
        // Not overridden: nothing to do.
        g.remove("streams.session.timeout.ms").unwrap();
        assert_eq!(
            g.remove("streams.nope"),
            Err(ConfigError::Unknown("streams.nope".into()))
        );
        g.remove("streams.assignor.name").unwrap();
        assert!(g.is_empty());
    }
}
