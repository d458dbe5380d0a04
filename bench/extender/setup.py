#!/usr/bin/env python3
"""Prepares the apiary-extender HTTP benchmark (bench/README.md, section
"apiary-extender over HTTP"): a 1,280-node configuration, the fake API
server's nodes and pods, decided pods to bind, and the request bodies wrk
sends. Standard library only.

  setup.py config OUT_DIR                 # writes OUT_DIR/config.yaml
  setup.py populate API_URL EXT_URL OUT_DIR [--bind-pods N]
"""
import json
import os
import sys
import time
import urllib.request

RACKS, NODES_PER_RACK = 160, 8
NODES = ["n-%04d" % i for i in range(RACKS * NODES_PER_RACK)]


def config_text():
    lines = [
        "webServerAddress: \":30096\"",
        # The benchmark repeats filter for one decided pod: keep it Binding
        # (no direct bind after 3 retries).
        "forcePodBindThreshold: 1000000000",
        "physicalCluster:",
        "  skuTypes:",
        "    V100: {gpu: 1, cpu: 6, memory: 61440Mi}",
        "  cellTypes:",
        "    V100-SWITCH: {childCellType: V100, childCellNumber: 4}",
        "    V100-NODE: {childCellType: V100-SWITCH, childCellNumber: 2, isNodeLevel: true}",
        "    V100-RACK: {childCellType: V100-NODE, childCellNumber: 8}",
        "  physicalCells:",
    ]
    for r in range(RACKS):
        lines.append("  - cellType: V100-RACK")
        lines.append("    cellChildren:")
        for n in range(NODES_PER_RACK):
            lines.append("    - cellAddress: %s" % NODES[r * NODES_PER_RACK + n])
    lines += [
        "virtualClusters:",
        "  prod:",
        "    virtualCells:",
        "    - {cellType: V100-RACK, cellNumber: 80}",              # 640 nodes
        "  research:",
        "    virtualCells:",
        "    - {cellType: V100-RACK.V100-NODE, cellNumber: 400}",   # 400 nodes
        "  batch:",
        "    virtualCells:",
        "    - {cellType: V100-RACK.V100-NODE.V100-SWITCH, cellNumber: 480}",  # 240 nodes
    ]
    return "\n".join(lines) + "\n"


def call(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def spec(vc, prio, gpus, group=None, pods=1):
    s = "virtualCluster: %s\npriority: %d\nleafCellType: V100\nleafCellNumber: %d\n" % (vc, prio, gpus)
    if group:
        s += "affinityGroup:\n  name: %s\n  members:\n  - podNumber: %d\n    leafCellNumber: %d\n" % (group, pods, gpus)
    return s


def pod(ns, name, spec_text):
    # What kube-scheduler's cache holds: managedFields and the
    # last-applied-configuration annotation included (realistic body size).
    last_applied = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns,
                               "annotations": {"hivedscheduler.microsoft.com/pod-scheduling-spec": spec_text}},
                               "spec": {"containers": [{"name": "trainer", "image": "registry.lab/trainer:4"}]}})
    return {
        "metadata": {
            "name": name, "namespace": ns,
            "labels": {"app": "trainer", "job": name.rsplit("-", 1)[0]},
            "annotations": {"hivedscheduler.microsoft.com/pod-scheduling-spec": spec_text,
                            "kubectl.kubernetes.io/last-applied-configuration": last_applied},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
                               "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1",
                               "fieldsV1": {"f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}},
                                            "f:spec": {"f:containers": {"k:{\"name\":\"trainer\"}": {".": {}, "f:image": {}, "f:name": {}, "f:resources": {}}}}}}],
        },
        "spec": {
            "schedulerName": "hivedscheduler-ds-prod",
            "containers": [{"name": "trainer", "image": "registry.lab/trainer:4",
                            "command": ["python", "train.py", "--epochs", "90"],
                            "env": [{"name": "NVIDIA_VISIBLE_DEVICES", "valueFrom": {"fieldRef": {
                                "fieldPath": "metadata.annotations['hivedscheduler.microsoft.com/pod-leaf-cell-isolation']"}}}],
                            "resources": {"limits": {"hivedscheduler.microsoft.com/pod-scheduling-enable": "1",
                                                     "cpu": "24", "memory": "200Gi"},
                                          "requests": {"cpu": "24", "memory": "200Gi"}}}],
            "restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
        },
        "status": {"phase": "Pending", "qosClass": "Guaranteed"},
    }


def filter_body(p):
    return json.dumps({"Pod": p, "Nodes": None, "NodeNames": NODES}, separators=(",", ":"))


def populate(api, ext, out, bind_pods):
    for n in NODES:
        call(api + "/api/v1/nodes", "POST", {"metadata": {"name": n},
             "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    created = []
    # Decided pods for the bind benchmark: 1-GPU pods of VC batch (1,920
    # GPUs), then research (3,192 left after decided-0), then prod (5,120).
    for i in range(bind_pods):
        vc = "batch" if i < 1920 else "research" if i < 5112 else "prod"  # decided-0 holds 8 of research
        name, s = "%s-%05d" % (vc, i), spec(vc, 10, 1)
        st, obj = call(api + "/api/v1/namespaces/bench/pods", "POST", pod("bench", name, s))
        assert st == 201, (st, obj)
        created.append(obj)
    # A big gang that cannot fit (and, at priority 1, cannot preempt the
    # priority-10 pods): every filter runs the full placement search.
    st, waiting = call(api + "/api/v1/namespaces/bench/pods", "POST",
                       pod("bench", "big-0", spec("prod", 1, 8, "bench/big", 200)))
    # One decided pod for the filter retry path.
    st, decided = call(api + "/api/v1/namespaces/bench/pods", "POST", pod("bench", "decided-0", spec("research", 10, 8)))
    # (decided-0 is filtered first, before the VCs fill up.)
    # Wait until the extender has seen the last pod.
    for _ in range(600):
        st, r = call(ext + "/v1/extender/filter", "POST", json.loads(filter_body(decided)))
        if "has not been informed" not in r.get("Error", ""):
            break
        time.sleep(0.05)
    assert r.get("NodeNames"), r
    binds = []
    t0 = time.time()
    for p in created:
        st, r = call(ext + "/v1/extender/filter", "POST", json.loads(filter_body(p)))
        assert r.get("NodeNames"), r
        binds.append(json.dumps({"PodName": p["metadata"]["name"], "PodNamespace": "bench",
                                 "PodUID": p["metadata"]["uid"], "Node": r["NodeNames"][0]}, separators=(",", ":")))
    decide_secs = time.time() - t0
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "filter_waiting.json"), "w") as f:
        f.write(filter_body(waiting))
    with open(os.path.join(out, "filter_decided.json"), "w") as f:
        f.write(filter_body(decided))
    with open(os.path.join(out, "bind_bodies.txt"), "w") as f:
        f.write("\n".join(binds) + "\n")
    print("nodes %d, decided pods %d (sequential filter, %.0f/s from Python), filter body %d bytes"
          % (len(NODES), len(binds), len(binds) / decide_secs, len(filter_body(waiting))))


if __name__ == "__main__":
    if sys.argv[1] == "config":
        os.makedirs(sys.argv[2], exist_ok=True)
        with open(os.path.join(sys.argv[2], "config.yaml"), "w") as f:
            f.write(config_text())
    elif sys.argv[1] == "populate":
        n = int(sys.argv[sys.argv.index("--bind-pods") + 1]) if "--bind-pods" in sys.argv else 10000
        populate(sys.argv[2], sys.argv[3], sys.argv[4], n)
