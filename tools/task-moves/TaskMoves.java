package taskmoves;

import org.apache.kafka.coordinator.group.api.streams.assignor.AssignmentConfigs;
import org.apache.kafka.coordinator.group.api.streams.assignor.GroupAssignment;
import org.apache.kafka.coordinator.group.api.streams.assignor.MemberAssignment;
import org.apache.kafka.coordinator.group.api.streams.assignor.TopologyDescriber;
import org.apache.kafka.coordinator.group.streams.assignor.AssignmentConfigsImpl;
import org.apache.kafka.coordinator.group.streams.assignor.GroupSpecImpl;
import org.apache.kafka.coordinator.group.streams.assignor.MemberMetadataAndStateImpl;
import org.apache.kafka.coordinator.group.streams.assignor.StickyTaskAssignor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Task movement of Kafka's broker-side StickyTaskAssignor (issue 14 item 7): the Java side of
 * tools/task-moves-vs-java.sh. It builds exactly the inputs of examples/task_moves.rs (read its header for the
 * cases, the events and what is counted) and prints the same line per case, so the two can be joined.
 *
 * <p>Only Kafka's public assignor classes are called (compiled from a Kafka source tree by
 * ../shared/oracle/assignor-bench/build.sh). Members are handed over in a HashMap, as Kafka's coordinator does.
 *
 * <p>Usage: {@code TaskMoves [MEMBERS [STANDBYS]]}; the environment variables TASK_MOVES_SAVE, TASK_MOVES_FROM and
 * TASK_MOVES_DUMP work as in the example.
 */
public final class TaskMoves {

    private static final int TASKS_PER_MEMBER = 10;
    private static final int SUBTOPOLOGIES = 10;

    private TaskMoves() {
    }

    /** A member of a Stable group: its process and current (= target) tasks, sorted for counting. */
    record Member(String process, TreeMap<String, TreeSet<Integer>> active, TreeMap<String, TreeSet<Integer>> standby) {
        static Member fresh(String process) {
            return new Member(process, new TreeMap<>(), new TreeMap<>());
        }
    }

    /** The topology of a case: subtopologies "0".."9" of the same task count, the even ones stateful. */
    static final class Topology implements TopologyDescriber {
        private final int partitions;

        Topology(int partitions) {
            this.partitions = partitions;
        }

        @Override
        public List<String> subtopologies() {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < SUBTOPOLOGIES; i++) {
                ids.add(Integer.toString(i));
            }
            return ids;
        }

        @Override
        public int maxNumInputPartitions(String subtopologyId) {
            index(subtopologyId);
            return partitions;
        }

        @Override
        public boolean isStateful(String subtopologyId) {
            return index(subtopologyId) % 2 == 0;
        }

        private static int index(String subtopologyId) {
            try {
                int i = Integer.parseInt(subtopologyId);
                if (i >= 0 && i < SUBTOPOLOGIES) {
                    return i;
                }
            } catch (NumberFormatException e) {
                // falls through
            }
            throw new NoSuchElementException("Topology does not contain subtopology " + subtopologyId);
        }
    }

    /** SplitMix64, the project's seeded generator (harness::Rng), draw for draw. */
    static final class SplitMix64 {
        private long state;

        SplitMix64(long seed) {
            state = seed;
        }

        long next() {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }
    }

    private static Map<String, Set<Integer>> toKafka(TreeMap<String, TreeSet<Integer>> tasks) {
        Map<String, Set<Integer>> out = new HashMap<>();
        tasks.forEach((s, ps) -> out.put(s, new HashSet<>(ps)));
        return out;
    }

    private static TreeMap<String, TreeSet<Integer>> fromKafka(Map<String, Set<Integer>> tasks) {
        TreeMap<String, TreeSet<Integer>> out = new TreeMap<>();
        tasks.forEach((s, ps) -> {
            if (!ps.isEmpty()) {
                out.put(s, new TreeSet<>(ps));
            }
        });
        return out;
    }

    /** A new target for the group, returned as the group holding it. */
    static TreeMap<String, Member> assign(TopologyDescriber topology, AssignmentConfigs configs,
                                          TreeMap<String, Member> group) {
        Map<String, MemberMetadataAndStateImpl> members = new HashMap<>();
        group.forEach((id, m) -> members.put(id, new MemberMetadataAndStateImpl(
            Optional.empty(), Optional.empty(), m.process(), Map.of(),
            toKafka(m.active()), toKafka(m.standby()), Map.of(), Map.of(), Map.of())));
        GroupAssignment a = new StickyTaskAssignor().assign(new GroupSpecImpl(members, configs), topology);
        TreeMap<String, Member> out = new TreeMap<>();
        group.forEach((id, m) -> {
            MemberAssignment ma = a.members().get(id);
            out.put(id, ma == null ? Member.fresh(m.process())
                : new Member(m.process(), fromKafka(ma.activeTasks()), fromKafka(ma.standbyTasks())));
        });
        return out;
    }

    /** The text examples/task_moves.rs hashes, saves and reads. */
    static String text(TreeMap<String, Member> group) {
        StringBuilder text = new StringBuilder();
        group.forEach((id, m) -> {
            text.append(id).append("|a:");
            m.active().forEach((s, ps) -> ps.forEach(p -> text.append(s).append('-').append(p).append(',')));
            text.append("|s:");
            m.standby().forEach((s, ps) -> ps.forEach(p -> text.append(s).append('-').append(p).append(',')));
            text.append(';');
        });
        return text.toString();
    }

    private static TreeMap<String, TreeSet<Integer>> parseTasks(String list) {
        TreeMap<String, TreeSet<Integer>> out = new TreeMap<>();
        for (String task : list.split(",")) {
            if (!task.isEmpty()) {
                int dash = task.indexOf('-');
                out.computeIfAbsent(task.substring(0, dash), s -> new TreeSet<>())
                    .add(Integer.parseInt(task.substring(dash + 1)));
            }
        }
        return out;
    }

    /** The members of {@code fresh} holding the target of {@link #text} form. */
    static TreeMap<String, Member> parse(String text, TreeMap<String, Member> fresh) {
        TreeMap<String, Member> out = new TreeMap<>(fresh);
        for (String entry : text.trim().split(";")) {
            if (entry.isEmpty()) {
                continue;
            }
            int a = entry.indexOf("|a:");
            int s = entry.indexOf("|s:");
            String id = entry.substring(0, a);
            Member m = out.get(id);
            if (m == null) {
                throw new IllegalArgumentException("not a member of the group: " + id);
            }
            out.put(id, new Member(m.process(), parseTasks(entry.substring(a + 3, s)), parseTasks(entry.substring(s + 3))));
        }
        return out;
    }

    /** FNV-1a of {@link #text}. */
    static long digest(TreeMap<String, Member> group) {
        String text = text(group);
        if (System.getenv("TASK_MOVES_DUMP") != null) {
            System.err.println(text);
        }
        long h = 0xcbf29ce484222325L;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static Map<String, String> owners(TreeMap<String, Member> group) {
        Map<String, String> out = new HashMap<>();
        group.forEach((id, m) -> m.active().forEach((s, ps) -> ps.forEach(p -> out.put(s + "-" + p, id))));
        return out;
    }

    private static Set<String> standbyPairs(TreeMap<String, Member> group) {
        Set<String> out = new HashSet<>();
        group.forEach((id, m) -> m.standby().forEach((s, ps) -> ps.forEach(p -> out.add(s + "-" + p + "@" + id))));
        return out;
    }

    private static int size(TreeMap<String, TreeSet<Integer>> tasks) {
        int n = 0;
        for (TreeSet<Integer> ps : tasks.values()) {
            n += ps.size();
        }
        return n;
    }

    static void run(int n, int standbys) {
        TopologyDescriber topology = new Topology(n * TASKS_PER_MEMBER / SUBTOPOLOGIES);
        AssignmentConfigs configs = AssignmentConfigsImpl.DEFAULT.withNumStandbyReplicas(standbys);
        SplitMix64 rng = new SplitMix64(n);
        List<String[]> ids = new ArrayList<>();
        for (int i = 0; i <= n; i++) {
            long x = rng.next();
            ids.add(new String[] {String.format(Locale.ROOT, "m-%016x", x), String.format(Locale.ROOT, "p-%016x", x)});
        }
        TreeMap<String, Member> fresh = new TreeMap<>();
        for (int i = 0; i < n; i++) {
            fresh.put(ids.get(i)[0], Member.fresh(ids.get(i)[1]));
        }
        String file = n + "_" + standbys + ".txt";
        TreeMap<String, Member> old;
        try {
            String from = System.getenv("TASK_MOVES_FROM");
            old = from != null
                ? parse(Files.readString(Path.of(from, file)), fresh)
                : assign(topology, configs, fresh);
            String save = System.getenv("TASK_MOVES_SAVE");
            if (save != null) {
                Files.writeString(Path.of(save, file), text(old));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int actives = 0;
        int copies = 0;
        for (Member m : old.values()) {
            actives += size(m.active());
            copies += size(m.active()) + size(m.standby());
        }
        Map<String, String> oldActive = owners(old);
        Set<String> oldStandby = standbyPairs(old);
        for (String event : new String[] {"rerun", "scale-out", "scale-in", "crash"}) {
            TreeMap<String, Member> input = new TreeMap<>(old);
            int minActive;
            int minStandby;
            switch (event) {
                case "rerun" -> {
                    minActive = 0;
                    minStandby = 0;
                }
                case "scale-out" -> {
                    input.put(ids.get(n)[0], Member.fresh(ids.get(n)[1]));
                    int ceilA = (actives + n) / (n + 1);
                    minActive = actives / (n + 1);
                    minStandby = Math.max(0, copies / (n + 1) - ceilA);
                }
                default -> {
                    String gone = ids.get(event.equals("crash") ? n / 2 : n - 1)[0];
                    Member m = input.remove(gone);
                    minActive = size(m.active());
                    minStandby = size(m.standby());
                }
            }
            TreeMap<String, Member> now = assign(topology, configs, input);
            int activeMoved = 0;
            int activeWarm = 0;
            int standbyMoved = 0;
            int standbyCold = 0;
            for (Map.Entry<String, String> e : owners(now).entrySet()) {
                if (!e.getValue().equals(oldActive.get(e.getKey()))) {
                    activeMoved++;
                    if (oldStandby.contains(e.getKey() + "@" + e.getValue())) {
                        activeWarm++;
                    }
                }
            }
            for (String pair : standbyPairs(now)) {
                if (!oldStandby.contains(pair)) {
                    standbyMoved++;
                    int at = pair.indexOf('@');
                    if (!pair.substring(at + 1).equals(oldActive.get(pair.substring(0, at)))) {
                        standbyCold++;
                    }
                }
            }
            System.out.printf(Locale.ROOT,
                "%d %d %s active_moved=%d active_warm=%d standby_moved=%d standby_cold=%d min_active=%d "
                    + "min_standby=%d old=%016x new=%016x%n",
                n, standbys, event, activeMoved, activeWarm, standbyMoved, standbyCold, minActive, minStandby,
                digest(old), digest(now));
        }
    }

    public static void main(String[] args) {
        int[] sizes = args.length > 0 ? new int[] {Integer.parseInt(args[0])} : new int[] {10, 100, 1000};
        int[] standbys = args.length > 1 ? new int[] {Integer.parseInt(args[1])} : new int[] {0, 1};
        for (int n : sizes) {
            for (int b : standbys) {
                run(n, b);
            }
        }
    }
}
