#!/usr/bin/env python3
"""Writes the seed inputs of one fuzz target (docs/fuzzing.md) into a corpus directory,
built from tests/data/streams-rpc-vectors.json (byte vectors from Kafka's own serializers)
in the input layout each target documents at its top."""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "tests", "data", "streams-rpc-vectors.json")
TYPE_INDEX = {17: 0, 19: 1, 20: 2, 21: 3, 22: 4, 23: 5}


# A StreamsGroupHeartbeat request (v0 and v1 are byte-identical) in Kafka's flexible wire
# format, from its JSON form; checked against every request vector by `python3 seed.py --check`.
def uvarint(n):
    out = b""
    while True:
        b = n & 0x7f; n >>= 7
        if n: out += bytes([b | 0x80])
        else: return out + bytes([b])
def cstr(s):
    if s is None: return b"\x00"
    b = s.encode(); return uvarint(len(b) + 1) + b
def carr(items, enc):
    if items is None: return b"\x00"
    return uvarint(len(items) + 1) + b"".join(enc(i) for i in items)
i16 = lambda v: struct.pack(">h", v)
i32 = lambda v: struct.pack(">i", v)
i64 = lambda v: struct.pack(">q", v)
TAGS = b"\x00"
def kv(x): return cstr(x["key"]) + cstr(x["value"]) + TAGS
def topic_info(t): return cstr(t["name"]) + i32(t.get("partitions", 0)) + i16(t.get("replicationFactor", 0)) + carr(t.get("topicConfigs", []), kv) + TAGS
def copart(g): return carr(g.get("sourceTopics", []), i16) + carr(g.get("sourceTopicRegex", []), i16) + carr(g.get("repartitionSourceTopics", []), i16) + TAGS
def sub(s):
    return (cstr(s["subtopologyId"]) + carr(s.get("sourceTopics", []), cstr) + carr(s.get("sourceTopicRegex", []), cstr)
            + carr(s.get("stateChangelogTopics", []), topic_info) + carr(s.get("repartitionSinkTopics", []), cstr)
            + carr(s.get("repartitionSourceTopics", []), topic_info) + carr(s.get("copartitionGroups", []), copart) + TAGS)
def topology(t):
    if t is None: return b"\xff"
    return b"\x01" + i32(t["epoch"]) + carr(t["subtopologies"], sub) + TAGS
def task_ids(t): return cstr(t["subtopologyId"]) + carr(t["partitions"], i32) + TAGS
def endpoint(e):
    if e is None: return b"\xff"
    return b"\x01" + cstr(e["host"]) + struct.pack(">H", e["port"]) + TAGS
def task_offset(t): return cstr(t["subtopologyId"]) + i32(t["partition"]) + i64(t["offset"]) + TAGS
def heartbeat_request(r):
    g = r.get
    return (cstr(r["groupId"]) + cstr(r["memberId"]) + i32(g("memberEpoch", 0)) + i32(g("endpointInformationEpoch", 0))
            + cstr(g("instanceId")) + cstr(g("rackId")) + i32(g("rebalanceTimeoutMs", -1)) + topology(g("topology"))
            + carr(g("activeTasks"), task_ids) + carr(g("standbyTasks"), task_ids) + carr(g("warmupTasks"), task_ids)
            + cstr(g("processId")) + endpoint(g("userEndpoint")) + carr(g("clientTags"), kv)
            + carr(g("taskOffsets"), task_offset) + carr(g("taskEndOffsets"), task_offset)
            + (b"\x01" if g("shutdownApplication") else b"\x00") + TAGS)


def load():
    with open(VECTORS) as f:
        return json.load(f)


def bx(h):
    return bytes.fromhex(h or "")


def decode_seeds(vectors):
    seeds = {}
    keys, values = {}, {}
    for v in vectors:
        name = v["name"].replace("/", "_")
        key, ver, kind = v["api_key"], v["api_version"], v["kind"]
        if kind in ("request", "response"):
            k = {("request", 88): 0, ("response", 88): 1, ("request", 89): 2, ("response", 89): 3}[(kind, key)]
            seeds[name] = bytes([k, ver]) + bx(v["hex"])
            if kind == "request":
                seeds[name + "_frame"] = bytes([9, 0]) + bx(v["frame_hex"])
            else:
                sel = (ver << 1) | (0 if key == 88 else 1)
                seeds[name + "_frame"] = bytes([10, sel]) + bx(v["frame_hex"])
        elif kind == "record-key":
            seeds[name] = bytes([4, TYPE_INDEX[key]]) + bx(v["hex"])
            seeds[name + "_stored"] = bytes([6, 0]) + bx(v["stored_hex"])
            keys[key] = bx(v["stored_hex"])
        elif kind == "record-value":
            seeds[name] = bytes([5, TYPE_INDEX[key]]) + bx(v["hex"])
            seeds[name + "_stored"] = bytes([7, key - 16]) + bx(v["stored_hex"])
            values.setdefault(key, bx(v["stored_hex"]))
    for t, k in keys.items():
        if len(k) < 128:
            seeds["record_%d" % t] = bytes([8, len(k)]) + k + values.get(t, b"")
            seeds["tombstone_%d" % t] = bytes([8, 0x80 | len(k)]) + k
    # ApiVersions: a v3 request (two compact strings, no tags) and a v0 response.
    seeds["api_versions_request_v3"] = bytes([11, 3 << 1]) + b"\x05fuzz\x041.0\x00"
    seeds["api_versions_response_v0"] = bytes([11, 1]) + struct.pack(">hihhh", 0, 1, 88, 0, 1)
    seeds["split_frame"] = bytes([12, 4]) + struct.pack(">i", 3) + b"abc"
    return seeds


def step(op, delta, body):
    return bytes([op, delta]) + struct.pack(">H", len(body)) + body


def repeat(op, delta, pick):
    return bytes([op, delta, 0, 0, pick])


# A topology the coordinator accepts and can make ready with the fuzz target's metadata
# (orders, customers and payments with 4 partitions, stock-updates with 2): the shape of the
# join-full-topology vector without source regexes (not supported), every repartition topic
# written by some subtopology.
RUNNABLE_TOPOLOGY = {
    "epoch": 1,
    "subtopologies": [
        {
            "subtopologyId": "0",
            "sourceTopics": ["orders", "customers"],
            "stateChangelogTopics": [
                {"name": "app-orders-store-changelog", "replicationFactor": 3,
                 "topicConfigs": [{"key": "cleanup.policy", "value": "compact"}]},
                {"name": "app-customers-store-changelog"},
            ],
            "repartitionSinkTopics": ["app-rekey-repartition", "app-join-repartition"],
            "copartitionGroups": [{"sourceTopics": [0, 1]}],
        },
        {
            "subtopologyId": "1",
            "repartitionSourceTopics": [
                {"name": "app-rekey-repartition", "partitions": 8, "replicationFactor": -1,
                 "topicConfigs": [{"key": "cleanup.policy", "value": "delete"}]},
            ],
        },
        {
            "subtopologyId": "2",
            "sourceTopics": ["payments"],
            "stateChangelogTopics": [{"name": "app-join-store-changelog", "replicationFactor": 2}],
            "repartitionSourceTopics": [{"name": "app-join-repartition"}],
            "copartitionGroups": [{"sourceTopics": [0], "repartitionSourceTopics": [0]}],
        },
    ],
}


def join(member, topology, **extra):
    r = {"groupId": "word-count-app", "memberId": member, "memberEpoch": 0,
         "rebalanceTimeoutMs": 3000, "topology": topology, "activeTasks": [],
         "standbyTasks": [], "warmupTasks": [], "processId": "process-" + member,
         "userEndpoint": {"host": "app-" + member, "port": 8080}, "clientTags": [],
         "taskOffsets": [], "taskEndOffsets": []}
    r.update(extra)
    return heartbeat_request(r)


def step(op, delta, body):
    return bytes([op, delta]) + struct.pack(">H", len(body)) + body


def repeat(op, delta, pick):
    return bytes([op, delta, 0, 0, pick])


def heartbeat_seeds(vectors):
    seeds = {}
    for v in vectors:
        if v["kind"] == "request" and v["api_key"] == 88:
            seeds[v["name"].replace("/", "_")] = step(v["api_version"], 0, bx(v["hex"]))
    static = {"epoch": 0, "subtopologies": [{"subtopologyId": "0", "sourceTopics": ["stock-updates"]}]}
    for ver in (0, 1):
        # Two members join; the broker creates the internal topics; both heartbeat with the
        # epoch and tasks the coordinator gave them; then the second one goes quiet.
        s = step(ver, 0, join("m-a", RUNNABLE_TOPOLOGY))
        s += repeat(ver | 0x60, 1, 0)  # the same join as member "m-a1"
        for _ in range(8):
            s += repeat(ver | 0x1e, 5, 0)  # create topics, patch epoch and tasks, tick
            s += repeat(ver | 0x7e, 5, 0)  # the same for "m-a1"
        for _ in range(6):
            s += repeat(ver | 0x1e, 40, 0)  # "m-a1" misses its session timeout
        seeds["two_members_v%d" % ver] = s
        # A static member joins, leaves temporarily (-2), rejoins with a new member id.
        s = step(ver, 0, join("s-1", static, instanceId="instance-1"))
        s += repeat(ver | 0x1e, 5, 0)
        s += repeat(ver | 0x1e, 5, 0)
        s += step(ver, 5, heartbeat_request({"groupId": "word-count-app", "memberId": "s-1",
                                             "memberEpoch": -2, "instanceId": "instance-1"}))
        s += step(ver, 5, join("s-2", static, instanceId="instance-1"))
        s += repeat(ver | 0x1e, 5, 2)
        s += repeat(ver | 0x1e, 5, 2)
        seeds["static_rejoin_v%d" % ver] = s
    return seeds


def topology_seeds(vectors):
    seeds = {}
    picks = bytes([0, 3, 1, 3, 2, 1, 3, 0])
    for v in vectors:
        name = v["name"].replace("/", "_")
        if v["kind"] == "request" and v["api_key"] == 88 and "topology" in v["name"]:
            form = (v["api_version"] & 1) << 1
            seeds[name] = bytes([form, 4]) + picks + bx(v["hex"])
            seeds[name + "_nometa"] = bytes([form, 0]) + bx(v["hex"])
            # The runnable topology (as a join) against varied metadata.
            for i, meta in enumerate([picks, bytes(range(16))]):
                body = join("m", RUNNABLE_TOPOLOGY)
                seeds["runnable_%d_v%d" % (i, v["api_version"])] = bytes([form, len(meta) // 2]) + meta + body
        if v["kind"] == "record-value" and v["api_key"] == 23:
            seeds[name] = bytes([1, 4]) + picks + bx(v["hex"])
    return seeds


def check(vectors):
    bad = [v["name"] for v in vectors if v["kind"] == "request" and v["api_key"] == 88
           and heartbeat_request(v["json"]).hex() != v["hex"]]
    if bad:
        sys.exit("heartbeat request encoder disagrees with %s" % bad)
    print("heartbeat request encoder matches the vectors")


def main():
    if sys.argv[1] == "--check":
        return check(load())
    target, corpus = sys.argv[1], sys.argv[2]
    vectors = load()
    seeds = {"decode": decode_seeds, "heartbeat": heartbeat_seeds, "topology": topology_seeds}[target](vectors)
    os.makedirs(corpus, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(corpus, "seed-" + name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), corpus))


if __name__ == "__main__":
    main()
