/*
 * Retained heap of Apache Kafka's streams-group coordinator (GroupMetadataManager, KIP-1071)
 * holding Stable groups, for the memory figures of docs/benchmarks.md (issue 14 item 2).
 * Written for this project; it only *calls* Kafka's classes, compiled from a Kafka source tree
 * by build.sh (nothing from Kafka is stored here).
 *
 * It lives in Kafka's package because GroupMetadataManager.Builder's methods are
 * package-private. The wiring follows ../shared/oracle (the scenario oracle): a
 * SnapshotRegistry whose snapshots are deleted once their records are "committed", a mock
 * clock, a timer that fires in deadline order, the real StickyTaskAssignor, a KRaft metadata
 * image holding the input topic.
 *
 * The groups are built as benches/memory.rs builds them: every member joins (epoch 0, one
 * subtopology "0" reading the topic "input"), the initial rebalance delay expires, then every
 * member heartbeats with the tasks it owns until its group is STABLE. The result: retained
 * heap after a full GC (the live bytes of a class histogram), before and after, and the
 * classes that grew most.
 *
 * usage: MemoryHarness GROUPS MEMBERS TASKS   (TASKS: partitions of the topic = tasks per group)
 */
package org.apache.kafka.coordinator.group;

import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.message.StreamsGroupHeartbeatRequestData;
import org.apache.kafka.common.message.StreamsGroupHeartbeatResponseData;
import org.apache.kafka.common.metadata.PartitionRecord;
import org.apache.kafka.common.metadata.TopicRecord;
import org.apache.kafka.common.metrics.Metrics;
import org.apache.kafka.common.network.ClientInformation;
import org.apache.kafka.common.network.ListenerName;
import org.apache.kafka.common.protocol.ApiKeys;
import org.apache.kafka.common.protocol.ApiMessage;
import org.apache.kafka.common.requests.RequestContext;
import org.apache.kafka.common.requests.RequestHeader;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.apache.kafka.common.utils.MockTime;
import org.apache.kafka.common.utils.internals.LogContext;
import org.apache.kafka.coordinator.common.runtime.CoordinatorRecord;
import org.apache.kafka.coordinator.common.runtime.CoordinatorResult;
import org.apache.kafka.coordinator.common.runtime.CoordinatorTimer;
import org.apache.kafka.coordinator.common.runtime.KRaftCoordinatorMetadataImage;
import org.apache.kafka.coordinator.common.runtime.MockCoordinatorExecutor;
import org.apache.kafka.coordinator.group.generated.CoordinatorRecordType;
import org.apache.kafka.coordinator.group.generated.StreamsGroupCurrentMemberAssignmentKey;
import org.apache.kafka.coordinator.group.generated.StreamsGroupCurrentMemberAssignmentValue;
import org.apache.kafka.coordinator.group.generated.StreamsGroupMemberMetadataKey;
import org.apache.kafka.coordinator.group.generated.StreamsGroupMemberMetadataValue;
import org.apache.kafka.coordinator.group.generated.StreamsGroupMetadataKey;
import org.apache.kafka.coordinator.group.generated.StreamsGroupMetadataValue;
import org.apache.kafka.coordinator.group.generated.StreamsGroupTargetAssignmentMemberKey;
import org.apache.kafka.coordinator.group.generated.StreamsGroupTargetAssignmentMemberValue;
import org.apache.kafka.coordinator.group.generated.StreamsGroupTargetAssignmentMetadataKey;
import org.apache.kafka.coordinator.group.generated.StreamsGroupTargetAssignmentMetadataValue;
import org.apache.kafka.coordinator.group.generated.StreamsGroupTopologyKey;
import org.apache.kafka.coordinator.group.generated.StreamsGroupTopologyValue;
import org.apache.kafka.coordinator.group.metrics.GroupCoordinatorMetrics;
import org.apache.kafka.coordinator.group.metrics.GroupCoordinatorMetricsShard;
import org.apache.kafka.coordinator.group.modern.share.ShareGroupConfig;
import org.apache.kafka.coordinator.group.streams.StreamsGroup;
import org.apache.kafka.coordinator.group.streams.StreamsGroupHeartbeatResult;
import org.apache.kafka.coordinator.group.streams.assignor.StickyTaskAssignor;
import org.apache.kafka.image.MetadataDelta;
import org.apache.kafka.image.MetadataImage;
import org.apache.kafka.image.MetadataProvenance;
import org.apache.kafka.server.common.ApiMessageAndVersion;
import org.apache.kafka.timeline.SnapshotRegistry;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;

import javax.management.ObjectName;

public class MemoryHarness {
    static final String TOPIC = "input";

    /** Fires timers one at a time in deadline order (as the oracle's timer). */
    static final class Timer implements CoordinatorTimer<CoordinatorRecord> {
        record Scheduled(String key, long deadlineMs, long seq, TimeoutOperation<CoordinatorRecord> op) { }
        final MockTime time;
        long seq = 0;
        final Map<String, Scheduled> map = new HashMap<>();
        final PriorityQueue<Scheduled> queue = new PriorityQueue<>((a, b) ->
            a.deadlineMs != b.deadlineMs ? Long.compare(a.deadlineMs, b.deadlineMs) : Long.compare(a.seq, b.seq));

        Timer(MockTime time) { this.time = time; }

        @Override public void schedule(String key, long delay, TimeUnit unit, boolean retry, long retryBackoff,
                                       TimeoutOperation<CoordinatorRecord> operation) {
            cancel(key);
            Scheduled s = new Scheduled(key, time.milliseconds() + unit.toMillis(delay), seq++, operation);
            queue.add(s);
            map.put(key, s);
        }
        @Override public void schedule(String key, long delay, TimeUnit unit, boolean retry,
                                       TimeoutOperation<CoordinatorRecord> operation) {
            schedule(key, delay, unit, retry, 500L, operation);
        }
        @Override public void scheduleIfAbsent(String key, long delay, TimeUnit unit, boolean retry,
                                               TimeoutOperation<CoordinatorRecord> operation) {
            if (!map.containsKey(key)) schedule(key, delay, unit, retry, 500L, operation);
        }
        @Override public void cancel(String key) {
            Scheduled s = map.remove(key);
            if (s != null) queue.remove(s);
        }
        @Override public boolean isScheduled(String key) { return map.containsKey(key); }
    }

    final MockTime time = new MockTime(0, 0, 0);
    final Timer timer = new Timer(time);
    final MockCoordinatorExecutor<CoordinatorRecord> executor = new MockCoordinatorExecutor<>();
    final LogContext logContext = new LogContext();
    final SnapshotRegistry snapshotRegistry = new SnapshotRegistry(logContext);
    GroupMetadataManager gmm;
    long committed = 0, written = 0;
    long records = 0;

    void build(int partitions) {
        Map<String, Object> props = new HashMap<>();
        props.put(GroupCoordinatorConfig.STREAMS_GROUP_INITIAL_REBALANCE_DELAY_MS_CONFIG, 3000);
        props.put(GroupCoordinatorConfig.STREAMS_GROUP_ASSIGNMENT_INTERVAL_MS_CONFIG, 0);
        props.put(GroupCoordinatorConfig.STREAMS_GROUP_ASSIGNOR_OFFLOAD_ENABLE_CONFIG, false);
        GroupCoordinatorConfig config = GroupCoordinatorConfig.fromProps(props);
        GroupConfigManager groupConfigManager = new GroupConfigManager(config, ShareGroupConfig.fromProps(props));
        GroupCoordinatorMetricsShard metrics = new GroupCoordinatorMetrics(
            new com.yammer.metrics.core.MetricsRegistry(), new Metrics())
            .newMetricsShard(snapshotRegistry, new TopicPartition("__consumer_offsets", 0));
        MetadataDelta delta = new MetadataDelta.Builder().setImage(MetadataImage.EMPTY).build();
        Uuid id = Uuid.fromString("AAAAAAAAAAcAAAAAAAAABw");
        delta.replay(new TopicRecord().setTopicId(id).setName(TOPIC));
        for (int i = 0; i < partitions; i++) {
            List<Integer> replicas = List.of(i % 4, (i + 1) % 4);
            delta.replay(new PartitionRecord().setTopicId(id).setPartitionId(i)
                .setReplicas(replicas).setIsr(replicas).setLeader(replicas.get(0)));
        }
        MetadataImage image = delta.apply(new MetadataProvenance(1, 0, 0L, true));
        gmm = new GroupMetadataManager.Builder()
            .withSnapshotRegistry(snapshotRegistry)
            .withLogContext(logContext)
            .withTime(time)
            .withTimer(timer)
            .withExecutor(executor)
            .withConfig(config)
            .withMetadataImage(new KRaftCoordinatorMetadataImage(image))
            .withGroupCoordinatorMetricsShard(metrics)
            .withGroupConfigManager(groupConfigManager)
            .withAuthorizerPlugin(Optional.empty())
            .withStreamsGroupAssignors(List.of(new StickyTaskAssignor()))
            .build();
        snapshotRegistry.idempotentCreateSnapshot(written);
        gmm.onLoaded();
        commit();
    }

    /** The records are durable: the snapshots before them are no longer needed (as the runtime). */
    void commit() {
        long prev = committed;
        committed = written;
        snapshotRegistry.deleteSnapshotsUpTo(prev);
    }

    void replay(CoordinatorRecord record) {
        ApiMessage key = record.key();
        ApiMessageAndVersion v = record.value();
        ApiMessage value = v == null ? null : v.message();
        switch (CoordinatorRecordType.fromId(key.apiKey())) {
            case STREAMS_GROUP_CURRENT_MEMBER_ASSIGNMENT ->
                gmm.replay((StreamsGroupCurrentMemberAssignmentKey) key, (StreamsGroupCurrentMemberAssignmentValue) value);
            case STREAMS_GROUP_MEMBER_METADATA ->
                gmm.replay((StreamsGroupMemberMetadataKey) key, (StreamsGroupMemberMetadataValue) value);
            case STREAMS_GROUP_METADATA ->
                gmm.replay((StreamsGroupMetadataKey) key, (StreamsGroupMetadataValue) value);
            case STREAMS_GROUP_TARGET_ASSIGNMENT_MEMBER ->
                gmm.replay((StreamsGroupTargetAssignmentMemberKey) key, (StreamsGroupTargetAssignmentMemberValue) value);
            case STREAMS_GROUP_TARGET_ASSIGNMENT_METADATA ->
                gmm.replay((StreamsGroupTargetAssignmentMetadataKey) key, (StreamsGroupTargetAssignmentMetadataValue) value);
            case STREAMS_GROUP_TOPOLOGY ->
                gmm.replay((StreamsGroupTopologyKey) key, (StreamsGroupTopologyValue) value);
            default -> throw new IllegalStateException("unexpected record " + record);
        }
        written++;
        records++;
        snapshotRegistry.idempotentCreateSnapshot(written);
    }

    void apply(CoordinatorResult<?, CoordinatorRecord> result) {
        for (CoordinatorRecord r : result.records()) {
            if (result.replayRecords()) replay(r);
        }
        commit();
    }

    void advance(long at) {
        while (true) {
            Timer.Scheduled s = timer.queue.peek();
            if (s == null || s.deadlineMs() > at) break;
            if (s.deadlineMs() > time.milliseconds()) time.sleep(s.deadlineMs() - time.milliseconds());
            timer.queue.poll();
            timer.map.remove(s.key(), s);
            try {
                apply(s.op().generateRecords());
            } catch (Throwable t) {
                throw new IllegalStateException("timer " + s.key() + " failed", t);
            }
        }
        if (at > time.milliseconds()) time.sleep(at - time.milliseconds());
        executor.poll().forEach(r -> apply(r.result()));
    }

    static RequestContext ctx() throws Exception {
        return new RequestContext(
            new RequestHeader(ApiKeys.STREAMS_GROUP_HEARTBEAT, ApiKeys.STREAMS_GROUP_HEARTBEAT.latestVersion(), "client", 0),
            "1", InetAddress.getByAddress(null, new byte[] {10, 0, 0, 1}), KafkaPrincipal.ANONYMOUS,
            ListenerName.forSecurityProtocol(SecurityProtocol.PLAINTEXT), SecurityProtocol.PLAINTEXT,
            ClientInformation.EMPTY, false);
    }

    StreamsGroupHeartbeatResponseData heartbeat(RequestContext ctx, StreamsGroupHeartbeatRequestData req) {
        CoordinatorResult<StreamsGroupHeartbeatResult, CoordinatorRecord> result = gmm.streamsGroupHeartbeat(ctx, req);
        apply(result);
        executor.poll().forEach(r -> apply(r.result()));
        StreamsGroupHeartbeatResponseData resp = result.response().data();
        if (resp.errorCode() != 0) throw new IllegalStateException("heartbeat failed: " + resp);
        return resp;
    }

    /** A simulated client. */
    static final class Client {
        final String group, id;
        int epoch;
        List<StreamsGroupHeartbeatRequestData.TaskIds> owned = new ArrayList<>();
        Client(String group, String id) { this.group = group; this.id = id; }
    }

    static List<StreamsGroupHeartbeatRequestData.TaskIds> owned(List<StreamsGroupHeartbeatResponseData.TaskIds> tasks) {
        List<StreamsGroupHeartbeatRequestData.TaskIds> out = new ArrayList<>();
        for (StreamsGroupHeartbeatResponseData.TaskIds t : tasks) {
            out.add(new StreamsGroupHeartbeatRequestData.TaskIds()
                .setSubtopologyId(t.subtopologyId()).setPartitions(new ArrayList<>(t.partitions())));
        }
        return out;
    }

    /** Builds `groups` Stable groups of `members` members; returns the tasks the clients own. */
    long stableGroups(String prefix, int groups, int members) throws Exception {
        RequestContext ctx = ctx();
        List<Client> clients = new ArrayList<>(groups * members);
        for (int g = 0; g < groups; g++) {
            String gid = String.format("%s%05d", prefix, g);
            for (int i = 0; i < members; i++) {
                String id = String.format("%s-member-%04d", gid, i);
                StreamsGroupHeartbeatRequestData req = new StreamsGroupHeartbeatRequestData()
                    .setGroupId(gid).setMemberId(id).setMemberEpoch(0).setRebalanceTimeoutMs(60_000)
                    .setProcessId(id + "-process")
                    .setTopology(new StreamsGroupHeartbeatRequestData.Topology().setEpoch(0).setSubtopologies(List.of(
                        new StreamsGroupHeartbeatRequestData.Subtopology().setSubtopologyId("0")
                            .setSourceTopics(List.of(TOPIC)))))
                    .setActiveTasks(List.of()).setStandbyTasks(List.of()).setWarmupTasks(List.of());
                Client c = new Client(gid, id);
                c.epoch = heartbeat(ctx, req).memberEpoch();
                clients.add(c);
            }
        }
        advance(time.milliseconds() + 3000);
        for (int round = 0; ; round++) {
            if (round >= 20) throw new IllegalStateException("groups did not converge");
            for (Client c : clients) {
                StreamsGroupHeartbeatRequestData req = new StreamsGroupHeartbeatRequestData()
                    .setGroupId(c.group).setMemberId(c.id).setMemberEpoch(c.epoch)
                    .setActiveTasks(c.owned).setStandbyTasks(List.of()).setWarmupTasks(List.of());
                StreamsGroupHeartbeatResponseData r = heartbeat(ctx, req);
                c.epoch = r.memberEpoch();
                if (r.activeTasks() != null) c.owned = owned(r.activeTasks());
            }
            boolean stable = true;
            for (int g = 0; g < groups && stable; g++) {
                StreamsGroup group = gmm.streamsGroup(String.format("%s%05d", prefix, g));
                stable = group.state() == StreamsGroup.StreamsGroupState.STABLE;
            }
            if (stable) break;
        }
        long tasks = 0;
        for (Client c : clients) for (StreamsGroupHeartbeatRequestData.TaskIds t : c.owned) tasks += t.partitions().size();
        return tasks;
    }

    // ------------------------------------------------------------------ measuring
    /** Live bytes per class after a full GC: the JVM's class histogram (as `jcmd PID GC.class_histogram`). */
    static Map<String, long[]> histogram() throws Exception {
        String out = (String) ManagementFactory.getPlatformMBeanServer().invoke(
            new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
            new Object[] {new String[0]}, new String[] {String[].class.getName()});
        Map<String, long[]> h = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[0].endsWith(":")) {
                h.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            } else if (f.length >= 3 && f[0].equals("Total")) {
                h.put("<total>", new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
            }
        }
        return h;
    }

    /** Heap in use after several full collections (MemoryMXBean), a cross-check of the histogram. */
    static long heapAfterGc() throws Exception {
        MemoryMXBean bean = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
            used = Math.min(used, bean.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: MemoryHarness GROUPS MEMBERS TASKS");
            System.exit(2);
        }
        int groups = Integer.parseInt(args[0]), members = Integer.parseInt(args[1]), tasks = Integer.parseInt(args[2]);
        MemoryHarness h = new MemoryHarness();
        h.build(tasks);
        // A one-member group first, kept in both measurements: the classes the heartbeat path
        // loads and their static data (message schemas, ...) are not per-group state.
        h.stableGroups("warmup-", 1, 1);
        long heap0 = heapAfterGc();
        Map<String, long[]> h0 = histogram();
        long t = System.nanoTime();
        long owned = h.stableGroups("group-", groups, members);
        long took = (System.nanoTime() - t) / 1_000_000;
        if (owned != (long) groups * tasks) throw new IllegalStateException("owned " + owned + " tasks");
        long heap1 = heapAfterGc();
        Map<String, long[]> h1 = histogram();
        long held = h1.get("<total>")[1] - h0.get("<total>")[1];
        long n = (long) groups * members;
        System.out.printf("java/steady: %d groups x %d members x %d tasks: retained %d bytes = %d per group, %d per member "
                + "(class histogram after a full GC; MemoryMXBean after System.gc(): %d bytes); %d records, built in %d ms%n",
            groups, members, tasks, held, held / groups, held / n, heap1 - heap0, h.records, took);
        // The classes that grew most: where the bytes go.
        List<Map.Entry<String, long[]>> grew = new ArrayList<>();
        for (Map.Entry<String, long[]> e : h1.entrySet()) {
            if (e.getKey().equals("<total>")) continue;
            long[] before = h0.getOrDefault(e.getKey(), new long[] {0, 0});
            grew.add(Map.entry(e.getKey(), new long[] {e.getValue()[0] - before[0], e.getValue()[1] - before[1]}));
        }
        grew.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        for (int i = 0; i < Math.min(20, grew.size()); i++) {
            Map.Entry<String, long[]> e = grew.get(i);
            System.out.printf("java/steady:   %12d bytes %10d objects  %s%n", e.getValue()[1], e.getValue()[0], e.getKey());
        }
        // Keep the coordinator reachable until after the last histogram.
        java.lang.ref.Reference.reachabilityFence(h);
    }
}
