#!/usr/bin/python3
# SPDX-License-Identifier: BSD-2-Clause
"""The AMQP client of tests/e2e/rabbitmq (pika, Debian's python3-pika).

Every message carries its sequence number and the SHA-256 of its body in its
headers (and the sequence number at the start of the body). The publisher
uses publisher confirms with a window of unconfirmed messages, and
reconnects after a connection error: the messages that were sent but not
confirmed are sent again (they may then arrive twice; a confirmed message
is never sent again). The consumer checks every checksum and counts every
sequence number.

usage:
  amqp_client.py publish HOST PORT QUEUE N --state FILE [--progress FILE]
        [--size B] [--window W] [--deadline S] [--expect-errors | --no-errors]
  amqp_client.py consume HOST PORT QUEUE --state FILE [--idle S]
  amqp_client.py perf HOST PORT QUEUE N [--size B] [--window W] [--transient]

The user and password come from the environment: RMQ_USER, RMQ_PASS (not
the command line, where ps(1) would show them). Output: one JSON object on
stdout (publish, consume, perf); progress and errors on stderr. Exit status
0 when every check passed, 1 otherwise, 2 for usage errors.
"""

import argparse
import collections
import hashlib
import json
import logging
import os
import sys
import time

import pika
import pika.exceptions
import pika.spec


def params(host, port, heartbeat=60):
    user = os.environ.get("RMQ_USER")
    password = os.environ.get("RMQ_PASS")
    if not user or not password:
        sys.exit("amqp_client: set RMQ_USER and RMQ_PASS")
    return pika.ConnectionParameters(
        host=host, port=int(port), virtual_host="/",
        credentials=pika.PlainCredentials(user, password),
        connection_attempts=1, socket_timeout=5, stack_timeout=10,
        blocked_connection_timeout=30, heartbeat=heartbeat)


def make_body(seq, size):
    prefix = b"seq=%010d;" % seq
    return prefix + os.urandom(max(0, size - len(prefix)))


def describe(err):
    """A short text for a pika error (its repr names the socket error)."""
    text = repr(err)
    return text if len(text) < 300 else text[:297] + "..."


class Publisher:
    """Publish N persistent messages with confirms, reconnecting on errors."""

    def __init__(self, host, port, queue, n, size=512, window=500, deadline=120.0,
                 progress=None, durable=True, persistent=True, retry_delay=0.25):
        self.params = params(host, port)
        self.queue, self.n, self.window = queue, n, window
        self.durable, self.persistent = durable, persistent
        self.deadline = time.monotonic() + deadline
        self.progress, self.retry_delay = progress, retry_delay
        self.bodies = [make_body(i, size) for i in range(n)]
        self.sha = [hashlib.sha256(b).hexdigest() for b in self.bodies]
        self.todo = collections.deque(range(n))
        self.sent = bytearray(n)         # times each message was published (< 256)
        self.confirmed = bytearray(n)
        self.n_confirmed = 0
        self.nacks = 0
        self.outstanding = collections.OrderedDict()  # delivery tag -> seq
        self.errors = []                 # (seconds since start, text)
        self.sessions = 0                # connections that got as far as publishing
        self.session_starts = []         # seconds since start
        self.attempts = 0
        self.conn = self.ch = None
        self.closing = False
        self.t0 = time.monotonic()
        self.t0_epoch = time.time()
        self.t_first_publish = None
        self.t_done = None
        self.last_progress = 0

    # -- driving loop -----------------------------------------------------
    def run(self):
        while self.n_confirmed < self.n:
            if time.monotonic() > self.deadline:
                raise TimeoutError("publishing not finished before the deadline: %d of %d "
                                   "confirmed" % (self.n_confirmed, self.n))
            self.attempts += 1
            self.closing = False
            self.ch = None
            self.conn = pika.SelectConnection(
                self.params, on_open_callback=self._on_open,
                on_open_error_callback=self._on_open_error,
                on_close_callback=self._on_closed)
            self.conn.ioloop.start()
            # The connection is gone: what was sent and not confirmed goes
            # out again (first, in order).
            lost = [s for s in self.outstanding.values() if not self.confirmed[s]]
            self.outstanding.clear()
            self.todo.extendleft(reversed(lost))
            if self.n_confirmed < self.n:
                time.sleep(self.retry_delay)
        self.write_progress(force=True)
        return self

    def _error(self, text):
        self.errors.append((round(time.monotonic() - self.t0, 3), text))
        print("amqp_client: connection error after %d confirmed: %s"
              % (self.n_confirmed, text), file=sys.stderr, flush=True)

    # -- callbacks ----------------------------------------------------------
    def _on_open_error(self, conn, err):
        self._error("open: " + describe(err))
        conn.ioloop.stop()

    def _on_closed(self, conn, reason):
        if not self.closing:
            self._error("closed: " + describe(reason))
        conn.ioloop.stop()

    def _on_open(self, conn):
        conn.channel(on_open_callback=self._on_channel)

    def _on_channel(self, ch):
        self.ch = ch
        ch.add_on_close_callback(self._on_channel_closed)
        ch.confirm_delivery(ack_nack_callback=self._on_confirm,
                            callback=lambda _frame: ch.queue_declare(
                                self.queue, durable=self.durable, callback=self._on_declared))

    def _on_channel_closed(self, ch, reason):
        if not self.closing:
            self._error("channel closed: " + describe(reason))
            if self.conn.is_open:
                self.closing = True
                self.conn.close()

    def _on_declared(self, _frame):
        self.sessions += 1
        self.session_starts.append(time.monotonic() - self.t0)
        self.tag = 0
        if self.t_first_publish is None:
            self.t_first_publish = time.monotonic()
        self._publish_more()

    def _publish_more(self):
        ch = self.ch
        if ch is None or not ch.is_open or self.closing:
            return
        mode = pika.spec.PERSISTENT_DELIVERY_MODE if self.persistent else 1
        while len(self.outstanding) < self.window and self.todo:
            seq = self.todo.popleft()
            if self.confirmed[seq]:
                continue
            ch.basic_publish(
                "", self.queue, self.bodies[seq],
                properties=pika.BasicProperties(
                    delivery_mode=mode, message_id=str(seq),
                    headers={"seq": seq, "sha256": self.sha[seq]}))
            self.tag += 1
            self.outstanding[self.tag] = seq
            self.sent[seq] = min(255, self.sent[seq] + 1)
        if self.n_confirmed == self.n and not self.outstanding:
            self.t_done = time.monotonic()
            self.closing = True
            self.conn.close()

    def _on_confirm(self, frame):
        m = frame.method
        ack = isinstance(m, pika.spec.Basic.Ack)
        done = []
        if m.multiple:
            while self.outstanding:
                tag = next(iter(self.outstanding))
                if tag > m.delivery_tag:
                    break
                done.append(self.outstanding.pop(tag))
        elif m.delivery_tag in self.outstanding:
            done.append(self.outstanding.pop(m.delivery_tag))
        for seq in done:
            if ack:
                if not self.confirmed[seq]:
                    self.confirmed[seq] = 1
                    self.n_confirmed += 1
            else:
                self.nacks += 1
                self.todo.append(seq)
        self.write_progress()
        self._publish_more()

    def write_progress(self, force=False):
        if not self.progress:
            return
        if not force and self.n_confirmed - self.last_progress < 100:
            return
        self.last_progress = self.n_confirmed
        tmp = self.progress + ".tmp"
        with open(tmp, "w") as f:
            f.write("confirmed %d sessions %d errors %d\n"
                    % (self.n_confirmed, self.sessions, len(self.errors)))
        os.replace(tmp, self.progress)

    # -- results ------------------------------------------------------------
    def state(self):
        republished = [i for i in range(self.n) if self.sent[i] > 1]
        return {
            "queue": self.queue, "messages": self.n, "sha256": self.sha,
            "sent": list(self.sent), "confirmed": self.n_confirmed,
            "republished": len(republished), "nacks": self.nacks,
            "connection_errors": self.errors, "sessions": self.sessions,
            "connection_attempts": self.attempts,
        }

    def summary(self):
        publish_s = (self.t_done or time.monotonic()) - (self.t_first_publish or self.t0)
        # From the first connection error to the next session that published.
        recovery = resumed = None
        if self.errors:
            later = [t for t in self.session_starts if t > self.errors[0][0]]
            if later:
                recovery = round(later[0] - self.errors[0][0], 3)
                resumed = round(self.t0_epoch + later[0], 3)
        return {
            "messages": self.n, "confirmed": self.n_confirmed,
            "republished": sum(1 for s in self.sent if s > 1), "nacks": self.nacks,
            "connection_errors": len(self.errors),
            "first_error": self.errors[0][1] if self.errors else None,
            "sessions": self.sessions, "connection_attempts": self.attempts,
            "recovery_seconds": recovery, "resumed_at": resumed,
            "seconds": round(time.monotonic() - self.t0, 3),
            "publish_seconds": round(publish_s, 3),
            "publish_rate": round(self.n / publish_s) if publish_s > 0 else None,
        }


def consume(host, port, queue, expect=None, idle=1.0, patience=20.0, durable=True):
    """Consume until the queue is empty; returns (received, bad, seconds).

    received counts each sequence number; bad lists problems (checksum,
    header, unknown sequence number)."""
    conn = pika.BlockingConnection(params(host, port))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=1000)
    ready = ch.queue_declare(queue, durable=durable, passive=True).method.message_count
    received = collections.Counter()
    bad = []
    nbad = 0
    got = 0
    last_tag = acked_tag = None
    t0 = time.monotonic()
    t_last = t0
    t_end = t0
    for method, props, body in ch.consume(queue, inactivity_timeout=idle):
        if method is None:
            if got >= ready:
                break
            if time.monotonic() - t_last > patience:
                bad.append("stalled: %d of %d messages after %.0f s without one"
                           % (got, ready, patience))
                break
            continue
        got += 1
        t_last = t_end = time.monotonic()
        last_tag = method.delivery_tag
        headers = props.headers or {}
        seq = headers.get("seq")
        digest = hashlib.sha256(body).hexdigest()
        if not isinstance(seq, int) or body[:15] != b"seq=%010d;" % seq:
            nbad += 1
            if len(bad) < 20:
                bad.append("message %d: bad sequence header %r / body %r" % (got, seq, body[:15]))
            continue
        if digest != headers.get("sha256"):
            nbad += 1
            if len(bad) < 20:
                bad.append("seq %d: SHA-256 of the body does not match its header" % seq)
            continue
        if expect is not None:
            if not 0 <= seq < len(expect) or expect[seq] != digest:
                nbad += 1
                if len(bad) < 20:
                    bad.append("seq %d: not a message the publisher sent" % seq)
                continue
        received[seq] += 1
        if got % 250 == 0:
            ch.basic_ack(last_tag, multiple=True)
            acked_tag = last_tag
    if last_tag is not None and last_tag != acked_tag:
        ch.basic_ack(last_tag, multiple=True)
    ch.cancel()
    left = ch.queue_declare(queue, durable=durable, passive=True).method.message_count
    if left:
        bad.append("%d message(s) still in the queue after consuming" % left)
    if nbad > 20:
        bad.append("%d bad message(s) in all" % nbad)
    conn.close()
    return received, bad, got, ready, (t_end - t0)


def cmd_publish(a):
    pub = Publisher(a.host, a.port, a.queue, a.n, size=a.size, window=a.window,
                    deadline=a.deadline, progress=a.progress)
    ok = True
    try:
        pub.run()
    except TimeoutError as e:
        print("amqp_client: FAIL: %s" % e, file=sys.stderr)
        ok = False
    with open(a.state, "w") as f:
        json.dump(pub.state(), f)
    s = pub.summary()
    if a.no_errors and (s["connection_errors"] or s["republished"] or s["sessions"] != 1):
        print("amqp_client: FAIL: expected one clean session: %s" % json.dumps(s), file=sys.stderr)
        ok = False
    if a.expect_errors and not s["connection_errors"]:
        print("amqp_client: FAIL: expected a connection error (restart drill), saw none",
              file=sys.stderr)
        ok = False
    print(json.dumps(s), flush=True)
    return 0 if ok else 1


def cmd_consume(a):
    with open(a.state) as f:
        st = json.load(f)
    n, sent, sha = st["messages"], st["sent"], st["sha256"]
    received, bad, got, ready, secs = consume(a.host, a.port, a.queue, expect=sha, idle=a.idle)
    missing = [i for i in range(n) if received[i] == 0]
    dup_seqs = [i for i in range(n) if received[i] > 1]
    duplicates = sum(received[i] - 1 for i in dup_seqs)
    # A message published once (confirmed the first time) must arrive once;
    # only a republished message may arrive more than once, and never more
    # often than it was sent.
    wrong_dups = [i for i in dup_seqs if sent[i] < 2 or received[i] > sent[i]]
    if st["confirmed"] != n:
        bad.append("only %d of %d messages were confirmed" % (st["confirmed"], n))
    if missing:
        bad.append("%d confirmed message(s) missing, e.g. seq %s" % (len(missing), missing[:10]))
    if wrong_dups:
        bad.append("%d message(s) confirmed at the first publish arrived more than once, "
                   "e.g. seq %s" % (len(wrong_dups), wrong_dups[:10]))
    out = {
        "queue": a.queue, "messages": n, "received": got, "ready_at_start": ready,
        "distinct": sum(1 for i in range(n) if received[i]), "missing": len(missing),
        "duplicates": duplicates, "duplicate_seqs": len(dup_seqs),
        "republished": st["republished"],
        "consume_seconds": round(secs, 3),
        "consume_rate": round(got / secs) if secs > 0 else None,
        "problems": bad,
    }
    print(json.dumps(out), flush=True)
    for b in bad:
        print("amqp_client: FAIL: %s" % b, file=sys.stderr)
    return 1 if bad else 0


def cmd_perf(a):
    """Publish N with confirms, then consume them: two rates, one JSON line."""
    durable = not a.transient
    # A fresh queue: delete what an earlier round may have left.
    conn = pika.BlockingConnection(params(a.host, a.port))
    ch = conn.channel()
    ch.queue_delete(a.queue)
    conn.close()
    pub = Publisher(a.host, a.port, a.queue, a.n, size=a.size, window=a.window,
                    deadline=a.deadline, durable=durable, persistent=durable)
    pub.run()
    s = pub.summary()
    received, bad, got, ready, secs = consume(a.host, a.port, a.queue, expect=pub.sha,
                                              idle=0.5, durable=durable)
    missing = sum(1 for i in range(a.n) if received[i] == 0)
    conn = pika.BlockingConnection(params(a.host, a.port))
    conn.channel().queue_delete(a.queue)
    conn.close()
    out = {"messages": a.n, "size": a.size, "publish_rate": s["publish_rate"],
           "consume_rate": round(got / secs) if secs > 0 else None,
           "errors": s["connection_errors"], "missing": missing, "problems": bad}
    print(json.dumps(out), flush=True)
    return 1 if (bad or missing or s["connection_errors"]) else 0


def main():
    logging.basicConfig(level=logging.CRITICAL)  # pika logs every reconnect at ERROR
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("publish", "consume", "perf"):
        s = sub.add_parser(name)
        s.add_argument("host")
        s.add_argument("port", type=int)
        s.add_argument("queue")
        if name != "consume":
            s.add_argument("n", type=int)
            s.add_argument("--size", type=int, default=512)
            s.add_argument("--window", type=int, default=500)
            s.add_argument("--deadline", type=float, default=120.0)
        if name != "perf":
            s.add_argument("--state", required=True)
    sp = sub.choices["publish"]
    sp.add_argument("--progress")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--expect-errors", action="store_true")
    g.add_argument("--no-errors", action="store_true")
    sub.choices["consume"].add_argument("--idle", type=float, default=1.0)
    sub.choices["perf"].add_argument("--transient", action="store_true")
    a = p.parse_args()
    return {"publish": cmd_publish, "consume": cmd_consume, "perf": cmd_perf}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
