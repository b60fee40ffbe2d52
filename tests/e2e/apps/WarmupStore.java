package e2e;

import java.time.Duration;
import java.time.LocalTime;
import java.util.*;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.*;
import org.apache.kafka.streams.*;
import org.apache.kafka.streams.processor.StandbyUpdateListener;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * A stateful Streams app with a large in-memory store, for measuring how long a moved task stops
 * processing (tests/e2e/warmup-pause.sh). Topics: {@code wu-input} (the tasks) and {@code wu-output}.
 * <pre>
 *   app BOOTSTRAP STATE_DIR INSTANCE [KEY=VALUE...]  the Streams app (application.id warmup-store), until SIGTERM or kill -9
 *   load BOOTSTRAP N SIZE                            N records "L SIZE", keys k0..k(N-1): each puts SIZE bytes in the store
 *   steady BOOTSTRAP RATE SECONDS SIZE              RATE records/s for SECONDS, "S SIZE SENT_MS", keys s0..s999
 *   measure BOOTSTRAP                                reads wu-output to its end; prints the pause of each hand-over
 * </pre>
 * The app's processor puts a value of SIZE bytes under the record's key in the in-memory store {@code big}
 * (changelog {@code warmup-store-big-changelog}, no cache, so every put is a changelog record). For an "S" record it
 * also writes "PARTITION OFFSET SENT_MS PROCESSED_MS INSTANCE" to wu-output, which is what {@code measure} reads.
 * The app prints (stdout, time stamped): {@code STATE OLD -> NEW}, {@code PROGRESS load=N steady=N} once a second
 * while it changes, {@code RESTORE start|end ...} for active restoration and {@code STANDBY start|suspended ...} for
 * standby and warm-up tasks (which the client runs as standbys). Client logs go to stderr (slf4j-simple).
 */
public final class WarmupStore {
    static final String INPUT = "wu-input", OUTPUT = "wu-output", STORE = "big";

    public static void main(String[] args) throws Exception {
        if (args.length < 2) usage();
        String bootstrap = args[1];
        switch (args[0]) {
            case "app":
                if (args.length < 4) usage();
                app(bootstrap, args[2], args[3], Arrays.copyOfRange(args, 4, args.length));
                break;
            case "load":
                if (args.length < 4) usage();
                load(bootstrap, Integer.parseInt(args[2]), Integer.parseInt(args[3]));
                break;
            case "steady":
                if (args.length < 5) usage();
                steady(bootstrap, Integer.parseInt(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]));
                break;
            case "measure": measure(bootstrap); break;
            default: usage();
        }
    }

    static void usage() {
        System.err.println("usage: WarmupStore app BOOTSTRAP STATE_DIR INSTANCE [KEY=VALUE...] | load BOOTSTRAP N SIZE\n"
            + "       WarmupStore steady BOOTSTRAP RATE SECONDS SIZE | measure BOOTSTRAP");
        System.exit(2);
    }

    /** A wall-clock time as the logs print it (HH:MM:SS.mmm, local time). */
    static String clock(long ms) {
        return java.time.format.DateTimeFormatter.ofPattern("HH:mm:ss.SSS")
            .format(LocalTime.ofInstant(java.time.Instant.ofEpochMilli(ms), java.time.ZoneId.systemDefault()));
    }

    static void say(String line) { System.out.println(LocalTime.now() + " " + line); }

    // ---- the Streams app ------------------------------------------------------------------------------------------

    static final AtomicLong LOADED = new AtomicLong(), STEADY = new AtomicLong();

    /** Puts SIZE bytes under the key; for a steady record, also says when and where it was processed. */
    static final class BigProcessor implements Processor<String, String, String, String> {
        private final String instance;
        private ProcessorContext<String, String> ctx;
        private KeyValueStore<String, byte[]> store;

        BigProcessor(String instance) { this.instance = instance; }

        @Override
        public void init(ProcessorContext<String, String> ctx) {
            this.ctx = ctx;
            this.store = ctx.getStateStore(STORE);
        }

        @Override
        public void process(Record<String, String> r) {
            String[] f = r.value().split(" ");
            byte[] value = new byte[Integer.parseInt(f[1])];
            Arrays.fill(value, (byte) r.key().hashCode());
            store.put(r.key(), value);
            if (f[0].equals("L")) {
                LOADED.incrementAndGet();
                return;
            }
            STEADY.incrementAndGet();
            long now = System.currentTimeMillis();
            String where = ctx.recordMetadata().map(m -> m.partition() + " " + m.offset()).orElse("-1 -1");
            ctx.forward(r.withValue(where + " " + f[2] + " " + now + " " + instance).withTimestamp(now));
        }
    }

    static Topology topology(String instance) {
        Topology t = new Topology();
        t.addSource("source", new StringDeserializer(), new StringDeserializer(), INPUT);
        t.addProcessor("put", () -> new BigProcessor(instance), "source");
        // in-memory only (this client build has no RocksDB); logging on (the default), caching off
        t.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(STORE), Serdes.String(), Serdes.ByteArray()), "put");
        t.addSink("sink", OUTPUT, new StringSerializer(), new StringSerializer(), "put");
        return t;
    }

    static void app(String bootstrap, String stateDir, String instance, String[] overrides) throws Exception {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, "warmup-store");
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, "streams");
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, "500");
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, "0");
        p.put(StreamsConfig.CLIENT_ID_CONFIG, "warmup-store-" + instance);
        for (String kv : overrides) {
            int eq = kv.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("expected KEY=VALUE, got " + kv);
            p.put(kv.substring(0, eq), kv.substring(eq + 1));
            System.out.println("CONFIG " + kv);
        }
        KafkaStreams streams = new KafkaStreams(topology(instance), p);
        streams.setStateListener((now, before) -> say("STATE " + before + " -> " + now));
        streams.setGlobalStateRestoreListener(new StateRestoreListener() {
            final Map<TopicPartition, Long> started = new HashMap<>();
            @Override public synchronized void onRestoreStart(TopicPartition tp, String store, long from, long to) {
                started.put(tp, System.currentTimeMillis());
                say("RESTORE start " + tp + " from " + from + " to " + to);
            }
            @Override public void onBatchRestored(TopicPartition tp, String store, long end, long n) { }
            @Override public synchronized void onRestoreEnd(TopicPartition tp, String store, long total) {
                Long t0 = started.remove(tp);
                say("RESTORE end " + tp + " records " + total + " ms " + (t0 == null ? -1 : System.currentTimeMillis() - t0));
            }
            @Override public synchronized void onRestoreSuspended(TopicPartition tp, String store, long total) {
                started.remove(tp);
                say("RESTORE suspended " + tp + " records " + total);
            }
        });
        streams.setStandbyUpdateListener(new StandbyUpdateListener() {
            @Override public void onUpdateStart(TopicPartition tp, String store, long from) {
                say("STANDBY start " + tp + " from " + from);
            }
            @Override public void onBatchLoaded(TopicPartition tp, String store, TaskId task, long end, long n, long current) { }
            @Override public void onUpdateSuspended(TopicPartition tp, String store, long at, long current, SuspendReason why) {
                say("STANDBY suspended " + tp + " at " + at + " end " + current + " " + why);
            }
        });
        AtomicBoolean stop = new AtomicBoolean();
        Thread progress = new Thread(() -> {
            long last = -1;
            while (!stop.get()) {
                long l = LOADED.get(), s = STEADY.get();
                if (l + s != last) say("PROGRESS load=" + l + " steady=" + s);
                last = l + s;
                try { Thread.sleep(1000); } catch (InterruptedException e) { return; }
            }
        }, "progress");
        progress.setDaemon(true);
        progress.start();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            streams.close(Duration.ofSeconds(10));
            say("CLOSED");
            done.countDown();
        }));
        streams.start();
        done.await();
    }

    // ---- producers ----------------------------------------------------------------------------------------------

    static KafkaProducer<String, String> producer(String bootstrap, String linger) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.LINGER_MS_CONFIG, linger);
        return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
    }

    static void load(String bootstrap, int n, int size) {
        try (KafkaProducer<String, String> pr = producer(bootstrap, "20")) {
            for (int i = 0; i < n; i++) pr.send(new ProducerRecord<>(INPUT, "k" + i, "L " + size));
            pr.flush();
        }
        System.out.println("loaded " + n + " records of " + size + " bytes");
    }

    /** RATE records a second, paced on the wall clock, until SECONDS have passed or SIGTERM. */
    static void steady(String bootstrap, int rate, int seconds, int size) throws Exception {
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch done = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.set(true);
            try { done.await(); } catch (InterruptedException ignored) { }
        }));
        long sent = 0;
        try (KafkaProducer<String, String> pr = producer(bootstrap, "0")) {
            long start = System.currentTimeMillis(), end = start + seconds * 1000L;
            while (!stop.get()) {
                long due = start + sent * 1000L / rate, now = System.currentTimeMillis();
                if (due >= end) break;
                if (due > now) { Thread.sleep(due - now); continue; }
                pr.send(new ProducerRecord<>(INPUT, "s" + (sent % 1000), "S " + size + " " + System.currentTimeMillis()));
                sent++;
            }
            pr.flush();
        } finally {
            System.out.println("sent " + sent);
            done.countDown();
        }
    }

    // ---- measure ------------------------------------------------------------------------------------------------

    /** One processing of one input record, as the app wrote it to wu-output. */
    record Seen(int partition, long offset, long sentMs, long processedMs, String instance) { }

    /**
     * Reads wu-output to the end offsets it finds at start. Per input partition, in processing-time order, a hand-over
     * is a change of the processing instance; its pause is the time between the last record the old instance processed
     * and the first the new one processed. Also the largest delay (first processing minus sending) of any record of the
     * partition, and the largest gap between two successive processings (for partitions that did not move: the noise).
     * Prints "handover PARTITION FROM->TO pause_ms N last TIME first TIME" lines, then "partition P instances=A,B records=N max_gap_ms=N
     * (ending TIME) max_delay_ms=N" lines.
     */
    static void measure(String bootstrap) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        Map<Integer, List<Seen>> byPartition = new TreeMap<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> tps = new ArrayList<>();
            for (PartitionInfo i : c.partitionsFor(OUTPUT)) tps.add(new TopicPartition(i.topic(), i.partition()));
            c.assign(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    String[] f = r.value().split(" ");
                    Seen s = new Seen(Integer.parseInt(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), f[4]);
                    byPartition.computeIfAbsent(s.partition(), k -> new ArrayList<>()).add(s);
                }
                boolean caughtUp = true;
                for (TopicPartition tp : tps) caughtUp &= c.position(tp) >= end.get(tp);
                if (caughtUp) break;
            }
        }
        List<String> summary = new ArrayList<>();
        byPartition.forEach((part, seen) -> {
            seen.sort(Comparator.comparingLong(Seen::processedMs).thenComparingLong(Seen::offset));
            Map<Long, Long> firstProcessed = new HashMap<>();
            Map<Long, Long> sentAt = new HashMap<>();
            long maxGap = 0, maxGapAt = 0;
            Seen prev = null;
            LinkedHashSet<String> instances = new LinkedHashSet<>();
            for (Seen s : seen) {
                instances.add(s.instance());
                firstProcessed.merge(s.offset(), s.processedMs(), Math::min);
                sentAt.put(s.offset(), s.sentMs());
                if (prev != null) {
                    long gap = s.processedMs() - prev.processedMs();
                    if (!s.instance().equals(prev.instance()))
                        System.out.println("handover " + part + " " + prev.instance() + "->" + s.instance() + " pause_ms " + gap
                            + " last " + clock(prev.processedMs()) + " first " + clock(s.processedMs()));
                    else if (gap > maxGap) { maxGap = gap; maxGapAt = s.processedMs(); }
                }
                prev = s;
            }
            long maxDelay = 0;
            for (Map.Entry<Long, Long> e : firstProcessed.entrySet()) maxDelay = Math.max(maxDelay, e.getValue() - sentAt.get(e.getKey()));
            summary.add("partition " + part + " instances=" + String.join(",", instances) + " records=" + firstProcessed.size()
                + " processings=" + seen.size() + " max_gap_ms=" + maxGap + " (ending " + clock(maxGapAt) + ") max_delay_ms=" + maxDelay);
        });
        summary.forEach(System.out::println);
    }
}
