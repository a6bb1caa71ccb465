#!/usr/bin/env python3
"""fakemongo.py — a small MongoDB wire-protocol server for the MongoDB sink's tests.

No MongoDB server can be installed on the build machines (no Debian package; the npm
packages download mongod at run time), so the sink's connection, batching and retry
tests talk to this stand-in instead, and run against a real server too whenever
STOCKPIPE_TEST_MONGODB_URI is set.  It is NOT a database: it keeps documents in
memory, matches filters by top-level equality only, and answers just what a driver
needs to connect and write:

  wire   OP_QUERY handshake (isMaster on admin.$cmd) answered with OP_REPLY; then
         OP_MSG with a kind-0 body section and kind-1 document sequences
         ("documents", "updates", "deletes"); no compression, no checksums
  cmds   hello/isMaster, buildInfo, ping, endSessions, createIndexes (unique indexes
         enforced, E11000), insert, update (replacement or $set, upsert), delete,
         find (equality filter, one batch), count, drop
  test   fakemongoFault {command, action: "close"|"lost_reply"|"error", count}: the next
         `count` matching commands close the connection without running, run and
         then close without a reply (the reply is lost), or fail with
         {ok: 0, code: 91 ShutdownInProgress};  fakemongoStats: commands received
         by name and the sizes of every write batch;  fakemongoReset

Start:  python3 fakemongo.py --port-file FILE [--max-seconds 600]
It writes the port to --port-file (atomically) once listening on 127.0.0.1 and exits
on SIGTERM/SIGINT or after --max-seconds.  Python 3 standard library only.
"""

import argparse
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013

# ---- minimal BSON -------------------------------------------------------------------


class Int64(int):
    """An integer that encodes as BSON int64 (decoded int64 values come back as this)."""


class DateTime(int):
    """Milliseconds since the epoch, BSON type 0x09."""


class Binary:
    def __init__(self, subtype, data):
        self.subtype, self.data = subtype, data

    def __eq__(self, other):
        return isinstance(other, Binary) and (self.subtype, self.data) == (other.subtype, other.data)

    def __hash__(self):
        return hash((self.subtype, self.data))


class ObjectId:
    def __init__(self, data):
        self.data = data

    def __eq__(self, other):
        return isinstance(other, ObjectId) and self.data == other.data

    def __hash__(self):
        return hash(self.data)


class Timestamp:
    def __init__(self, value):
        self.value = value


def _cstring(data, at):
    end = data.index(b"\0", at)
    return data[at:end].decode("utf-8"), end + 1


def decode_document(data, at=0):
    """Decode the BSON document at data[at:]; returns (dict, offset after it)."""
    (size,) = struct.unpack_from("<i", data, at)
    end = at + size
    at += 4
    doc = {}
    while at < end - 1:
        kind = data[at]
        name, at = _cstring(data, at + 1)
        if kind == 0x01:
            (value,) = struct.unpack_from("<d", data, at)
            at += 8
        elif kind == 0x02:
            (n,) = struct.unpack_from("<i", data, at)
            value = data[at + 4:at + 4 + n - 1].decode("utf-8")
            at += 4 + n
        elif kind in (0x03, 0x04):
            value, at = decode_document(data, at)
            if kind == 0x04:
                value = list(value.values())
        elif kind == 0x05:
            n, subtype = struct.unpack_from("<ib", data, at)
            value = Binary(subtype, bytes(data[at + 5:at + 5 + n]))
            at += 5 + n
        elif kind == 0x07:
            value = ObjectId(bytes(data[at:at + 12]))
            at += 12
        elif kind == 0x08:
            value = data[at] != 0
            at += 1
        elif kind == 0x09:
            value = DateTime(struct.unpack_from("<q", data, at)[0])
            at += 8
        elif kind == 0x0A:
            value = None
        elif kind == 0x10:
            (value,) = struct.unpack_from("<i", data, at)
            at += 4
        elif kind == 0x11:
            value = Timestamp(struct.unpack_from("<Q", data, at)[0])
            at += 8
        elif kind == 0x12:
            value = Int64(struct.unpack_from("<q", data, at)[0])
            at += 8
        else:
            raise ValueError(f"BSON type 0x{kind:02x} not supported by fakemongo")
        doc[name] = value
    return doc, end


def _element(name, value):
    key = name.encode("utf-8") + b"\0"
    if value is None:
        return b"\x0a" + key
    if isinstance(value, bool):
        return b"\x08" + key + (b"\x01" if value else b"\x00")
    if isinstance(value, DateTime):
        return b"\x09" + key + struct.pack("<q", value)
    if isinstance(value, Int64):
        return b"\x12" + key + struct.pack("<q", value)
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"\x10" + key + struct.pack("<i", value)
        return b"\x12" + key + struct.pack("<q", value)
    if isinstance(value, float):
        return b"\x01" + key + struct.pack("<d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return b"\x02" + key + struct.pack("<i", len(raw) + 1) + raw + b"\0"
    if isinstance(value, dict):
        return b"\x03" + key + encode_document(value)
    if isinstance(value, (list, tuple)):
        return b"\x04" + key + encode_document({str(i): v for i, v in enumerate(value)})
    if isinstance(value, Binary):
        return b"\x05" + key + struct.pack("<ib", len(value.data), value.subtype) + value.data
    if isinstance(value, ObjectId):
        return b"\x07" + key + value.data
    if isinstance(value, Timestamp):
        return b"\x11" + key + struct.pack("<Q", value.value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_document(doc):
    body = b"".join(_element(k, v) for k, v in doc.items())
    return struct.pack("<i", len(body) + 5) + body + b"\0"


def canonical(value):
    """A hashable form of a BSON value, for _id and unique-index lookups."""
    return encode_document({"v": value})


# ---- the store ------------------------------------------------------------------------


class WriteError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.collections = {}   # (db, coll) -> {canonical(_id): doc}
        self.indexes = {}       # (db, coll) -> {name: spec}
        self.faults = []        # [{"command", "action", "count"}]
        self.commands = {}      # name -> count
        self.batches = []       # [(command, collection, n)]
        self.next_oid = 1

    def coll(self, ns):
        return self.collections.setdefault(ns, {})

    def check_unique(self, ns, doc, own_id):
        for name, spec in self.indexes.get(ns, {}).items():
            if not spec.get("unique"):
                continue
            fields = list(spec["key"].keys())
            want = [canonical(doc.get(f)) for f in fields]
            for other_id, other in self.coll(ns).items():
                if other_id != own_id and [canonical(other.get(f)) for f in fields] == want:
                    raise WriteError(11000, f"E11000 duplicate key error collection: {ns[0]}.{ns[1]} index: {name}")

    def put(self, ns, doc, replace_ok):
        if "_id" not in doc:
            doc = {"_id": ObjectId(struct.pack(">Q", self.next_oid).rjust(12, b"\0")), **doc}
            self.next_oid += 1
        key = canonical(doc["_id"])
        if key in self.coll(ns) and not replace_ok:
            raise WriteError(11000, f"E11000 duplicate key error collection: {ns[0]}.{ns[1]} index: _id_")
        self.check_unique(ns, doc, key)
        self.coll(ns)[key] = doc
        return doc


def matches(doc, query):
    return all(canonical(doc.get(k)) == canonical(v) for k, v in (query or {}).items())


# ---- commands -----------------------------------------------------------------------------


def hello_reply(handler):
    return {"helloOk": True, "ismaster": True, "isWritablePrimary": True, "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
            "localTime": DateTime(int(time.time() * 1000)), "logicalSessionTimeoutMinutes": 30,
            "connectionId": handler.connection_id, "minWireVersion": 0, "maxWireVersion": 17,
            "readOnly": False, "ok": 1.0}


def run_command(store, handler, body, sequences):
    name = next(iter(body))
    lname = name.lower()
    db = body.get("$db", "admin")
    if lname in ("hello", "ismaster"):
        return hello_reply(handler)
    if lname == "buildinfo":
        return {"version": "6.0.0-fakemongo", "versionArray": [6, 0, 0, 0], "maxBsonObjectSize": 16 * 1024 * 1024,
                "ok": 1.0}
    if lname in ("ping", "endsessions", "getlasterror"):
        return {"ok": 1.0}
    if lname == "fakemongoreset":
        store.reset()
        return {"ok": 1.0}
    if lname == "fakemongofault":
        store.faults.append({"command": body["command"], "action": body["action"], "count": int(body["count"])})
        return {"ok": 1.0}
    if lname == "fakemongostats":
        return {"commands": dict(store.commands),
                "batches": [{"command": c, "collection": coll, "n": n} for c, coll, n in store.batches], "ok": 1.0}
    ns = (db, body[name]) if isinstance(body.get(name), str) else None
    if lname == "createindexes":
        for spec in body["indexes"]:
            store.indexes.setdefault(ns, {})[spec["name"]] = spec
        return {"numIndexesBefore": 1, "numIndexesAfter": 1 + len(store.indexes[ns]), "ok": 1.0}
    if lname == "insert":
        docs = body.get("documents", []) + sequences.get("documents", [])
        store.batches.append(("insert", ns[1], len(docs)))
        n, errors = 0, []
        for i, doc in enumerate(docs):
            try:
                store.put(ns, doc, replace_ok=False)
                n += 1
            except WriteError as e:
                errors.append({"index": i, "code": e.code, "errmsg": e.message})
                if body.get("ordered", True):
                    break
        reply = {"n": n, "ok": 1.0}
        if errors:
            reply["writeErrors"] = errors
        return reply
    if lname == "update":
        updates = body.get("updates", []) + sequences.get("updates", [])
        store.batches.append(("update", ns[1], len(updates)))
        n = modified = 0
        upserted, errors = [], []
        for i, u in enumerate(updates):
            try:
                coll = store.coll(ns)
                hits = [d for d in coll.values() if matches(d, u["q"])]
                spec = u["u"]
                if hits:
                    for old in hits[: None if u.get("multi") else 1]:
                        new = dict(old, **spec["$set"]) if "$set" in spec else {"_id": old["_id"], **spec}
                        store.put(ns, new, replace_ok=True)
                        n += 1
                        modified += canonical(new) != canonical(old)
                elif u.get("upsert"):
                    base = {k: v for k, v in u["q"].items() if not k.startswith("$")}
                    new = {**base, **spec["$set"]} if "$set" in spec else {**({"_id": base["_id"]} if "_id" in base else {}), **spec}
                    new = store.put(ns, new, replace_ok=False)
                    n += 1
                    upserted.append({"index": i, "_id": new["_id"]})
            except WriteError as e:
                errors.append({"index": i, "code": e.code, "errmsg": e.message})
                if body.get("ordered", True):
                    break
        reply = {"n": n, "nModified": modified, "ok": 1.0}
        if upserted:
            reply["upserted"] = upserted
        if errors:
            reply["writeErrors"] = errors
        return reply
    if lname == "delete":
        deletes = body.get("deletes", []) + sequences.get("deletes", [])
        n = 0
        for d in deletes:
            coll = store.coll(ns)
            for key in [k for k, doc in coll.items() if matches(doc, d["q"])][: 1 if d.get("limit") else None]:
                del coll[key]
                n += 1
        return {"n": n, "ok": 1.0}
    if lname == "find":
        docs = [d for d in store.coll(ns).values() if matches(d, body.get("filter"))]
        if body.get("limit"):
            docs = docs[: abs(int(body["limit"]))]
        return {"cursor": {"firstBatch": docs, "id": Int64(0), "ns": f"{ns[0]}.{ns[1]}"}, "ok": 1.0}
    if lname == "count":
        return {"n": sum(1 for d in store.coll(ns).values() if matches(d, body.get("query"))), "ok": 1.0}
    if lname == "drop":
        store.collections.pop(ns, None)
        store.indexes.pop(ns, None)
        return {"ok": 1.0}
    return {"ok": 0.0, "errmsg": f"no such command: '{name}' (fakemongo)", "code": 59, "codeName": "CommandNotFound"}


# ---- the wire ---------------------------------------------------------------------------------


class Handler(socketserver.BaseRequestHandler):
    counter = 0

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def send(self, request_id, op, payload):
        header = struct.pack("<iiii", 16 + len(payload), request_id + 1000000, request_id, op)
        self.request.sendall(header + payload)

    def handle(self):
        Handler.counter += 1
        self.connection_id = Handler.counter
        store = self.server.store
        try:
            while True:
                length, request_id, _, op = struct.unpack("<iiii", self.read_exact(16))
                data = self.read_exact(length - 16)
                if op == OP_QUERY:
                    (flags,) = struct.unpack_from("<i", data, 0)
                    _, at = _cstring(data, 4)
                    query, _ = decode_document(data, at + 8)
                    query = query.get("$query", query)
                    with store.lock:
                        reply = run_command(store, self, query, {})
                    self.send(request_id, OP_REPLY, struct.pack("<iqii", 0, 0, 0, 1) + encode_document(reply))
                    continue
                if op != OP_MSG:
                    return  # nothing else is spoken here
                (flag_bits,) = struct.unpack_from("<I", data, 0)
                at, end = 4, len(data) - (4 if flag_bits & 1 else 0)
                body, sequences = None, {}
                while at < end:
                    kind = data[at]
                    at += 1
                    if kind == 0:
                        body, at = decode_document(data, at)
                    else:
                        (size,) = struct.unpack_from("<i", data, at)
                        stop = at + size
                        ident, at = _cstring(data, at + 4)
                        docs = []
                        while at < stop:
                            doc, at = decode_document(data, at)
                            docs.append(doc)
                        sequences[ident] = docs
                name = next(iter(body)).lower()
                with store.lock:
                    store.commands[name] = store.commands.get(name, 0) + 1
                    fault = next((f for f in store.faults if f["command"].lower() == name and f["count"] > 0), None)
                    if fault:
                        fault["count"] -= 1
                    if fault and fault["action"] == "close":
                        return
                    if fault and fault["action"] == "lost_reply":
                        run_command(store, self, body, sequences)
                        return
                    if fault:
                        reply = {"ok": 0.0, "errmsg": "fakemongo: injected fault", "code": 91,
                                 "codeName": "ShutdownInProgress"}
                    else:
                        reply = run_command(store, self, body, sequences)
                if not flag_bits & 2:  # moreToCome: no reply wanted
                    self.send(request_id, OP_MSG, struct.pack("<I", 0) + b"\0" + encode_document(reply))
        except (ConnectionError, OSError):
            return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True, help="write the chosen port here (atomically)")
    ap.add_argument("--max-seconds", type=float, default=600, help="exit after this long (default 600)")
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    server.store = Store()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    threading.Timer(args.max_seconds, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    try:
        server.serve_forever(poll_interval=0.1)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        os._exit(0)


if __name__ == "__main__":
    main()
