//! What a broker's other group APIs ask the coordinator about streams groups:
//! offset-commit and offset-fetch validation (spec 07 §4) and `streams.*`
//! group-config changes (spec 07 §5).
//!
//! Group configs are not records of `__consumer_offsets`: in Kafka they live
//! in the cluster metadata (a `ConfigRecord` on a GROUP resource) and every
//! broker's group config manager holds them, whether or not it coordinates
//! the group. The service mirrors that with one [`GroupConfigStore`] shared by
//! all shards: a change is validated, kept there, and handed to the group's
//! shard if one is loaded here; a shard that loads (or is rebuilt after an
//! append failure) applies the stored configs of its partition before it
//! re-arms its timers.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use tracing::Instrument;

use super::metrics::Counters;
use super::shard::Failure;
use super::Service;
use crate::group::{CommitApi, ConfigError, GroupConfigOp, GroupCoordinator, OffsetCommitCheck};
use crate::protocol::ErrorCode;

/// One group's configs: name → value, the latest value of each name.
type Settings = BTreeMap<String, String>;

/// The `streams.*` group configs this broker was given, by `__consumer_offsets`
/// partition and group id. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct GroupConfigStore {
    by_partition: Mutex<BTreeMap<i32, BTreeMap<String, Settings>>>,
}

impl GroupConfigStore {
    /// The stored configs of every group of `partition`, sorted by group id
    /// then name.
    pub(crate) fn of_partition(&self, partition: i32) -> Vec<(String, Vec<(String, String)>)> {
        let map = self
            .by_partition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&partition)
            .map(|groups| {
                groups
                    .iter()
                    .map(|(g, s)| {
                        let pairs = s.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
                        (g.clone(), pairs)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The stored configs of `group_id` (on `partition`), sorted by name.
    pub(crate) fn of_group(&self, partition: i32, group_id: &str) -> Vec<(String, String)> {
        let map = self
            .by_partition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.get(&partition)
            .and_then(|groups| groups.get(group_id))
            .map(|s| s.iter().map(|(n, v)| (n.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Applies `ops` to `group_id`'s stored configs if `validate` accepts
    /// them on top of the stored ones; then runs `then` while still holding
    /// the lock, so a shard that loads concurrently either reads the new
    /// configs or is found by `then`. A group left with no config has no
    /// entry any more.
    fn update<T>(
        &self,
        partition: i32,
        group_id: &str,
        ops: &[GroupConfigOp],
        validate: impl FnOnce(&[(String, String)], &[GroupConfigOp]) -> Result<(), ConfigError>,
        then: impl FnOnce() -> T,
    ) -> Result<T, ConfigError> {
        let mut map = self
            .by_partition
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut merged = map
            .get(&partition)
            .and_then(|groups| groups.get(group_id))
            .cloned()
            .unwrap_or_default();
        let stored: Vec<(String, String)> =
            merged.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        validate(&stored, ops)?;
        for op in ops {
            match op {
                GroupConfigOp::Set { name, value } => {
                    merged.insert(name.clone(), value.clone());
                }
                GroupConfigOp::Delete { name } => {
                    merged.remove(name);
                }
            }
        }
        let groups = map.entry(partition).or_default();
        if merged.is_empty() {
            groups.remove(group_id);
        } else {
            groups.insert(group_id.to_owned(), merged);
        }
        if groups.is_empty() {
            map.remove(&partition);
        }
        Ok(then())
    }
}

/// The request-level facts of an OffsetCommit or TxnOffsetCommit that the
/// coordinator validates for a streams group (spec 07 §4.1–4.2). Owned, so it
/// can travel to the group's shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetCommitValidation {
    /// `GroupId` of the request.
    pub group_id: String,
    /// `MemberId` of the request (`""` for an admin or transactional-producer commit).
    pub member_id: String,
    /// `GenerationIdOrMemberEpoch` of the request (`-1` when not a member).
    pub member_epoch: i32,
    /// `GroupInstanceId` of the request, if any.
    pub instance_id: Option<String>,
    /// Which API the request is.
    pub api: CommitApi,
    /// The request's API version.
    pub api_version: i16,
    /// Every `(topic, partition)` the request commits.
    pub partitions: Vec<(String, i32)>,
}

/// Where an accepted group-config change is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupConfigUpdate {
    /// The group's partition is loaded here and its shard applied the change.
    Applied,
    /// The group's partition is not loaded here (or was unloaded or rebuilt
    /// meanwhile): the change is kept and applied when this service loads the
    /// partition.
    Deferred,
}

/// Why a group-config change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupConfigError {
    /// The group id is empty (Kafka refuses default GROUP resources).
    #[error("group configs need a group id; default group resources are not allowed")]
    EmptyGroupId,
    /// A name or value was refused by the core's validation.
    #[error("group `{group_id}`: {source}")]
    Invalid {
        /// The group.
        group_id: String,
        /// The core's reason.
        source: ConfigError,
    },
}

impl GroupConfigError {
    /// The Kafka error code of IncrementalAlterConfigs for this refusal:
    /// `INVALID_REQUEST` for an empty group id, `INVALID_CONFIG` otherwise.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            GroupConfigError::EmptyGroupId => ErrorCode::INVALID_REQUEST,
            GroupConfigError::Invalid { .. } => ErrorCode::INVALID_CONFIG,
        }
    }
}

impl Service {
    /// Validates an OffsetCommit / TxnOffsetCommit of a streams group (spec 07
    /// §4.1–4.2) on the group's shard. `Ok(())` means the broker may write the
    /// offsets; an error fails the whole request with that code:
    /// `UNKNOWN_MEMBER_ID`, `STALE_MEMBER_EPOCH` (`ILLEGAL_GENERATION` for
    /// TxnOffsetCommit below v6), `GROUP_ID_NOT_FOUND` / `ILLEGAL_GENERATION`
    /// for a missing group, `UNSUPPORTED_VERSION` for OffsetCommit below v9,
    /// and the routing errors of every call (`NOT_COORDINATOR` when the
    /// partition is not loaded here, `COORDINATOR_LOAD_IN_PROGRESS` while it
    /// loads, the append-failure mapping if writes it observed fail).
    ///
    /// Like Kafka's commit (a write operation), it validates against the
    /// latest state and answers only once every write it observed is
    /// durable, so an accepted epoch is never rolled back. It writes nothing.
    /// Authorization (GROUP READ, TOPIC READ) is the broker's, as for any
    /// group; call this when the group id is not held by a group of another
    /// type.
    pub async fn validate_offset_commit(
        &self,
        request: OffsetCommitValidation,
    ) -> Result<(), ErrorCode> {
        let partition = self.partition_for(&request.group_id);
        let span = tracing::info_span!(
            "streams_offset_commit_validation",
            group_id = %request.group_id,
            member_id = %request.member_id,
            member_epoch = request.member_epoch,
            partitions = request.partitions.len(),
            partition,
            error = tracing::field::Empty,
        );
        Counters::incr(&self.inner.env.counters.offset_commit_validations);
        let result = self
            .write(partition, move |core, _now| {
                let parts: Vec<(&str, i32)> = request
                    .partitions
                    .iter()
                    .map(|(t, p)| (t.as_str(), *p))
                    .collect();
                let check = OffsetCommitCheck {
                    api: request.api,
                    api_version: request.api_version,
                    instance_id: request.instance_id.as_deref(),
                    partitions: &parts,
                };
                let verdict = core.validate_offset_commit(
                    &request.group_id,
                    &request.member_id,
                    request.member_epoch,
                    &check,
                );
                (verdict, Vec::new())
            })
            .instrument(span.clone())
            .await;
        self.settle(&span, result)
    }

    /// Validates an OffsetFetch of a streams group (spec 07 §4.3) against the
    /// committed state of its shard: with no member id and a negative epoch
    /// it is an admin fetch (accepted); otherwise the member must exist
    /// (`UNKNOWN_MEMBER_ID`) with exactly `member_epoch`
    /// (`STALE_MEMBER_EPOCH`); a missing group is `GROUP_ID_NOT_FOUND`. The
    /// routing errors are those of
    /// [`validate_offset_commit`](Self::validate_offset_commit).
    pub async fn validate_offset_fetch(
        &self,
        group_id: &str,
        member_id: Option<&str>,
        member_epoch: i32,
    ) -> Result<(), ErrorCode> {
        let partition = self.partition_for(group_id);
        let span = tracing::info_span!(
            "streams_offset_fetch_validation",
            group_id = %group_id,
            member_id = member_id.unwrap_or(""),
            member_epoch,
            partition,
            error = tracing::field::Empty,
        );
        Counters::incr(&self.inner.env.counters.offset_fetch_validations);
        let group_id = group_id.to_owned();
        let member_id = member_id.map(str::to_owned);
        let result = self
            .read(partition, move |core| {
                core.validate_offset_fetch(&group_id, member_id.as_deref(), member_epoch)
            })
            .instrument(span.clone())
            .await;
        self.settle(&span, result)
    }

    /// Checks an OffsetDelete of `group_id` (spec 07 §4.4) against the
    /// committed state of its shard. For a streams group the answer holds,
    /// per topic of `topics` in order, whether the group is subscribed to it
    /// (the group is not Empty and the topic is a source or repartition
    /// source topic of its topology): every partition of a subscribed topic
    /// gets `GROUP_SUBSCRIBED_TO_TOPIC`, the others' offsets may be deleted.
    /// `GROUP_ID_NOT_FOUND` means no streams group has this id (the broker
    /// then treats the id as it treats any other group's); the routing
    /// errors are those of
    /// [`validate_offset_commit`](Self::validate_offset_commit).
    pub async fn validate_offset_delete(
        &self,
        group_id: &str,
        topics: &[String],
    ) -> Result<Vec<bool>, ErrorCode> {
        let partition = self.partition_for(group_id);
        let span = tracing::info_span!(
            "streams_offset_delete_validation",
            group_id = %group_id,
            topics = topics.len(),
            partition,
            error = tracing::field::Empty,
        );
        let group_id = group_id.to_owned();
        let topics = topics.to_vec();
        let result = self
            .read(partition, move |core| match core.group_state(&group_id) {
                None => Err(ErrorCode::GROUP_ID_NOT_FOUND),
                Some(_) => Ok(topics
                    .iter()
                    .map(|t| core.is_subscribed_to_topic(&group_id, t))
                    .collect()),
            })
            .instrument(span.clone())
            .await;
        let verdict = result.unwrap_or_else(|f| Err(f.code));
        if let Err(code) = verdict {
            if code != ErrorCode::GROUP_ID_NOT_FOUND {
                self.inner.env.counters.error(code);
            }
            span.record("error", code.name());
        }
        verdict
    }

    /// The last group-epoch bumps of `group_id` with their causes (oldest first, at
    /// most [`crate::group::HISTORY_LEN`]), from the shard that holds it. Held in memory
    /// by that shard: after a coordinator move the history starts again. NOT_COORDINATOR
    /// when the group's partition is not served here.
    pub async fn rebalance_history(
        &self,
        group_id: &str,
    ) -> Result<Vec<crate::group::Rebalance>, ErrorCode> {
        let group_id = group_id.to_owned();
        self.read(self.partition_for(&group_id), move |core| {
            core.rebalance_history(&group_id)
        })
        .await
        .map_err(|f| f.code)
    }

    /// Flattens a routed validation's outcome, counting and tracing its error.
    fn settle(
        &self,
        span: &tracing::Span,
        result: Result<Result<(), ErrorCode>, Failure>,
    ) -> Result<(), ErrorCode> {
        let verdict = result.unwrap_or_else(|f| Err(f.code));
        if let Err(code) = verdict {
            self.inner.env.counters.error(code);
            span.record("error", code.name());
        }
        verdict
    }

    /// Applies a change of `group_id`'s `streams.*` group configs (spec 07
    /// §5), e.g. from IncrementalAlterConfigs SET on a GROUP resource or from
    /// the broker's metadata delivering such a change. Each `(name, value)` is
    /// validated by the core against the broker bounds, together with the
    /// group's earlier settings; a refusal changes nothing and maps to
    /// `INVALID_CONFIG` ([`GroupConfigError::error_code`]). Shorthand for
    /// [`alter_group_config`](Self::alter_group_config) with only SETs.
    ///
    /// An accepted change is kept by the service for the group whether or not
    /// this broker coordinates it, and applied whenever the group's partition
    /// is loaded (or rebuilt) here. If the partition is loaded (or loading),
    /// the change also goes through its shard: any records the core returns
    /// are durable and its timers re-armed before this returns
    /// [`GroupConfigUpdate::Applied`]. As in Kafka, the change itself writes
    /// nothing; its effects (a rebalance for standby replicas or rack tags,
    /// new intervals in responses, the next session timeout) happen at the
    /// group's next heartbeat or timer.
    pub async fn update_group_config(
        &self,
        group_id: &str,
        configs: &[(String, String)],
    ) -> Result<GroupConfigUpdate, GroupConfigError> {
        let ops: Vec<GroupConfigOp> = configs
            .iter()
            .map(|(name, value)| GroupConfigOp::Set {
                name: name.clone(),
                value: value.clone(),
            })
            .collect();
        self.alter_group_config(group_id, &ops).await
    }

    /// Removes overrides of `group_id`'s `streams.*` group configs, so the
    /// broker defaults apply again (IncrementalAlterConfigs DELETE). A name
    /// that is not overridden is left as it is; an unknown name is refused
    /// (`INVALID_CONFIG`) and changes nothing. Shorthand for
    /// [`alter_group_config`](Self::alter_group_config) with only DELETEs.
    pub async fn remove_group_config(
        &self,
        group_id: &str,
        names: &[String],
    ) -> Result<GroupConfigUpdate, GroupConfigError> {
        let ops: Vec<GroupConfigOp> = names
            .iter()
            .map(|name| GroupConfigOp::Delete { name: name.clone() })
            .collect();
        self.alter_group_config(group_id, &ops).await
    }

    /// Applies the IncrementalAlterConfigs operations of one GROUP resource
    /// (SET and DELETE of `streams.*` configs) in order, all or nothing:
    /// validated by the core ([`GroupCoordinator::alter_group_config`]) on top
    /// of the group's stored settings, then kept and applied as described at
    /// [`update_group_config`](Self::update_group_config). After a DELETE the
    /// broker default applies, here and at every later load of the group's
    /// partition.
    pub async fn alter_group_config(
        &self,
        group_id: &str,
        ops: &[GroupConfigOp],
    ) -> Result<GroupConfigUpdate, GroupConfigError> {
        let partition = self.partition_for(group_id);
        let span = tracing::info_span!(
            "streams_group_config_update",
            group_id = %group_id,
            configs = ops.len(),
            partition,
            outcome = tracing::field::Empty,
        );
        Counters::incr(&self.inner.env.counters.group_config_updates);
        let outcome = self
            .alter_group_config_inner(partition, group_id, ops)
            .instrument(span.clone())
            .await;
        match &outcome {
            Ok(GroupConfigUpdate::Applied) => span.record("outcome", "applied"),
            Ok(GroupConfigUpdate::Deferred) => span.record("outcome", "deferred"),
            Err(e) => {
                self.inner.env.counters.error(e.error_code());
                span.record("outcome", e.error_code().name())
            }
        };
        outcome
    }

    async fn alter_group_config_inner(
        &self,
        partition: i32,
        group_id: &str,
        ops: &[GroupConfigOp],
    ) -> Result<GroupConfigUpdate, GroupConfigError> {
        if group_id.is_empty() {
            return Err(GroupConfigError::EmptyGroupId);
        }
        let env = &self.inner.env;
        let invalid = |source| GroupConfigError::Invalid {
            group_id: group_id.to_owned(),
            source,
        };
        // The core's rule decides, on a coordinator holding only this group's
        // settings, so the answer does not depend on which broker is asked.
        let shard = env
            .group_configs
            .update(
                partition,
                group_id,
                ops,
                |stored, ops| {
                    let mut core =
                        GroupCoordinator::new(env.coordinator.clone(), env.assignors.clone());
                    core.replace_group_config(group_id, stored, 0)?;
                    core.alter_group_config(group_id, ops, 0).map(|_| ())
                },
                || self.inner.shards.get(&partition).map(|h| h.tx.clone()),
            )
            .map_err(invalid)?;
        let Some(tx) = shard else {
            return Ok(GroupConfigUpdate::Deferred);
        };
        // The shard replaces the group's settings with the stored ones as
        // they are when it runs (removed names included), so concurrent
        // changes reach it in the store's order whatever order their
        // messages arrive in.
        let group = group_id.to_owned();
        let env = env.clone();
        let applied = self
            .write_via(tx, move |core, now| {
                let settings = env.group_configs.of_group(partition, &group);
                match core.replace_group_config(&group, &settings, now) {
                    Ok(out) => (Ok(()), out.records),
                    Err(e) => (Err(e), Vec::new()),
                }
            })
            .await;
        match applied {
            Ok(Ok(())) => Ok(GroupConfigUpdate::Applied),
            // Validated above against the same settings; a shard that
            // disagrees has diverged from the store, which is a bug.
            Ok(Err(e)) => {
                tracing::error!(error = %e, "the shard refused a validated group config");
                Err(invalid(e))
            }
            Err(f) => {
                tracing::debug!(
                    error = f.code.name(),
                    "shard gone; the change applies at its next load"
                );
                Ok(GroupConfigUpdate::Deferred)
            }
        }
    }
}
