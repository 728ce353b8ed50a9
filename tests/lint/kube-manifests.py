#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""lint-kube-manifests: what deploy/kubernetes/ promises (docs/kubernetes.md).

For every sealpiped container: non-root, read-only root, no privilege
escalation, all capabilities dropped, resource requests, readiness and
liveness probes on /health at its own --status port, --drain-timeout
shorter than the pod's terminationGracePeriodSeconds, and each -k a
read-only mount of a Secret volume with mode 0400 or 0440. The broker
listens on loopback only; Services expose only ports a sealpiped -d
listens on; the StatefulSet has, for each replica N, a hostAliases entry
127.0.0.(10+N), a classic_config node, and the -e pair towards it.

usage: kube-manifests.py [--self-test] DIR
--self-test breaks one promise at a time in memory and expects a finding
for each (the lint must be able to fail).
"""
import copy
import os
import re
import sys

import yaml


def arg(args, flag):
    return args[args.index(flag) + 1] if flag in args else None


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def check_pod(name, spec, problems):
    grace = spec.get("terminationGracePeriodSeconds", 30)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    status_ports = set()
    for c in spec["containers"]:
        if "sealpipe" not in c.get("image", ""):
            continue
        where = "%s/%s" % (name, c["name"])
        sc = c.get("securityContext", {})
        for key, want in [("runAsNonRoot", True), ("readOnlyRootFilesystem", True),
                          ("allowPrivilegeEscalation", False)]:
            if sc.get(key) != want:
                problems.append("%s: securityContext.%s is not %s" % (where, key, want))
        if sc.get("runAsUser", 0) == 0:
            problems.append("%s: runAsUser is root or unset" % where)
        if sc.get("capabilities", {}).get("drop") != ["ALL"]:
            problems.append("%s: capabilities are not all dropped" % where)
        if not c.get("resources", {}).get("requests"):
            problems.append("%s: no resource requests" % where)
        args = c.get("args", [])
        drain = arg(args, "--drain-timeout")
        if drain is None or float(drain) >= grace:
            problems.append("%s: --drain-timeout %s is not shorter than terminationGracePeriodSeconds %s"
                            % (where, drain, grace))
        status = arg(args, "--status")
        if status is None:
            problems.append("%s: no --status for the probes" % where)
        else:
            p = port_of(status)
            if p in status_ports:
                problems.append("%s: --status port %d used twice in the pod" % (where, p))
            status_ports.add(p)
            for probe in ("readinessProbe", "livenessProbe"):
                get = c.get(probe, {}).get("httpGet", {})
                if get.get("path") != "/health" or get.get("port") != p:
                    problems.append("%s: %s is not GET /health on --status port %d" % (where, probe, p))
        key = arg(args, "-k")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        m = mounts.get(key)
        if m is None or not m.get("readOnly"):
            problems.append("%s: -k %s is not a read-only volume mount" % (where, key))
        else:
            secret = volumes.get(m["name"], {}).get("secret")
            if secret is None:
                problems.append("%s: -k %s is not a Secret volume" % (where, key))
            elif secret.get("defaultMode") not in (0o400, 0o440):
                problems.append("%s: the key Secret's defaultMode is not 0400 or 0440" % where)


def check_statefulset(ss, configs, services, problems):
    spec = ss["spec"]["template"]["spec"]
    n = ss["spec"]["replicas"]
    conf = configs.get("rabbitmq-config", {}).get("rabbitmq.conf", "")
    for line in conf.splitlines():
        m = re.match(r"\s*(listeners\.tcp\.\d+|management\.tcp\.ip|distribution\.listener\.interface)\s*=\s*(\S+)", line)
        if m and not re.match(r"(127\.0\.0\.1|::1)(:|$)", m.group(2)):
            problems.append("rabbitmq.conf: %s = %s is not loopback" % (m.group(1), m.group(2)))
    nodes = re.findall(r"classic_config\.nodes\.\d+\s*=\s*rabbit@(\S+)", conf)
    aliases = {h: a["ip"] for a in spec.get("hostAliases", []) for h in a["hostnames"]}
    listens = set()
    e_pairs = {}
    for c in spec["containers"]:
        args = c.get("args", [])
        if "-d" in args:
            listens.add(port_of(arg(args, "-s")))
        if "-e" in args:
            e_pairs.setdefault(arg(args, "-s").split("]")[0].lstrip("["), set()).add(arg(args, "-t"))
    for i in range(n):
        node = "%s-%d" % (ss["metadata"]["name"], i)
        ip = "127.0.0.%d" % (10 + i)
        if aliases.get(node) != ip:
            problems.append("hostAliases: %s does not resolve to %s" % (node, ip))
        if node not in nodes:
            problems.append("rabbitmq.conf: no classic_config node rabbit@%s" % node)
        peer = "%s.%s" % (node, ss["spec"]["serviceName"])
        if e_pairs.get(ip) != {peer + ":14369", peer + ":25773"}:
            problems.append("no -e pair on %s towards %s (epmd and distribution)" % (ip, peer))
    for svc in services:
        for p in svc["spec"]["ports"]:
            if p.get("targetPort", p["port"]) not in listens:
                problems.append("Service %s exposes port %s, where no sealpiped -d listens"
                                % (svc["metadata"]["name"], p["port"]))


def check_status_fenced(wl, policies, problems):
    """A pod whose --status listens beyond loopback (--status-unsafe) is
    selected by an Ingress NetworkPolicy that does not open that port: only
    the kubelet's probes, from the node, may reach it (issue 25 item 3)."""
    labels = wl["spec"]["template"]["metadata"].get("labels", {})
    for c in wl["spec"]["template"]["spec"]["containers"]:
        args = c.get("args", [])
        if "--status-unsafe" not in args:
            continue
        port = int(arg(args, "--status").rsplit(":", 1)[1])
        fences = [p for p in policies
                  if "Ingress" in p["spec"].get("policyTypes", [])
                  and p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
                  and all(pt.get("port") != port for rule in p["spec"].get("ingress", [])
                          for pt in rule.get("ports", [{"port": port}]))]
        if not fences:
            problems.append("%s: --status on port %d is open to other pods (no NetworkPolicy "
                            "keeps it for the kubelet)" % (wl["metadata"]["name"], port))


def lint(docs):
    problems = []
    configs = {d["metadata"]["name"]: d["data"] for d in docs if d["kind"] == "ConfigMap"}
    services = [d for d in docs if d["kind"] == "Service"]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    for d in docs:
        if d["kind"] in ("StatefulSet", "Deployment"):
            check_pod(d["metadata"]["name"], d["spec"]["template"]["spec"], problems)
            check_status_fenced(d, policies, problems)
        if d["kind"] == "StatefulSet":
            check_statefulset(d, configs, services, problems)
    return problems


def load(directory):
    docs = []
    for f in sorted(os.listdir(directory)):
        if f.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all(open(os.path.join(directory, f))) if d]
    return docs


def containers(docs, kind):
    return next(d for d in docs if d["kind"] == kind)["spec"]["template"]["spec"]["containers"]


def self_test(docs):
    """Each mutation must produce a finding."""
    def sidecar(d):
        return containers(d, "StatefulSet")[1]
    mutations = {
        "writable root": lambda d: sidecar(d)["securityContext"].__setitem__("readOnlyRootFilesystem", False),
        "capabilities kept": lambda d: sidecar(d)["securityContext"].pop("capabilities"),
        "drain too long": lambda d: sidecar(d)["args"].__setitem__(sidecar(d)["args"].index("--drain-timeout") + 1, "60"),
        "probe elsewhere": lambda d: sidecar(d)["readinessProbe"]["httpGet"].__setitem__("port", 1),
        "key not a secret": lambda d: next(v for v in next(x for x in d if x["kind"] == "StatefulSet")["spec"]["template"]["spec"]["volumes"] if v["name"] == "key-amqp").pop("secret"),
        "broker on all addresses": lambda d: next(x for x in d if x["kind"] == "ConfigMap")["data"].__setitem__(
            "rabbitmq.conf", "listeners.tcp.1 = 0.0.0.0:5672\n"),
        "plaintext port exposed": lambda d: next(x for x in d if x["kind"] == "Service")["spec"]["ports"].append({"port": 5672}),
        "missing -e pair": lambda d: containers(d, "StatefulSet").pop(),
        "client writable root": lambda d: containers(d, "Deployment")[1]["securityContext"].pop("readOnlyRootFilesystem"),
        "client status open": lambda d: d.remove(next(x for x in d if x["kind"] == "NetworkPolicy"
                                                        and x["metadata"]["name"] == "amqp-client-no-ingress")),
        "status port allowed": lambda d: next(x for x in d if x["kind"] == "NetworkPolicy"
                                              and x["metadata"]["name"] == "amqp-client-no-ingress")["spec"].__setitem__(
                                                  "ingress", [{"ports": [{"port": 9101}]}]),
    }
    failed = 0
    for name, mutate in mutations.items():
        d = copy.deepcopy(docs)
        mutate(d)
        if not lint(d):
            print("kube-manifests self-test: '%s' was not found" % name)
            failed += 1
    return failed


def main():
    args = sys.argv[1:]
    test = "--self-test" in args
    args = [a for a in args if a != "--self-test"]
    docs = load(args[0] if args else "deploy/kubernetes")
    problems = lint(docs)
    for p in problems:
        print("kube-manifests: %s" % p)
    if problems:
        return 1
    if test:
        failed = self_test(docs)
        if failed:
            return 1
        print("kube-manifests: every promise holds, and each broken one is found")
    else:
        print("kube-manifests: every promise holds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
