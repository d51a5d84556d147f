"""Blueprint-style pyzmq client for the bridge interop tests.

Usage: pyclient.py ENDPOINT MODE [SERVER_PUB CLIENT_PUB CLIENT_SECRET]
MODE is "req" or "dealer"; with the three Z85 keys the socket uses CURVE.

Sends the blueprint's validation message (Part IV 4.1) exactly as a
blueprint client packs it, then an unknown command, then several pipelined
requests (dealer mode), and prints one line per check: "ok NAME" or
"FAIL NAME detail". Exits 1 on any failure or timeout.
"""
import sys

import msgpack
import zmq

endpoint, mode = sys.argv[1], sys.argv[2]
ctx = zmq.Context()
sock = ctx.socket(zmq.REQ if mode == "req" else zmq.DEALER)
sock.setsockopt(zmq.LINGER, 0)
sock.setsockopt(zmq.RCVTIMEO, 10000)
if len(sys.argv) == 6:
    sock.curve_serverkey = sys.argv[3].encode()
    sock.curve_publickey = sys.argv[4].encode()
    sock.curve_secretkey = sys.argv[5].encode()
sock.connect(endpoint)
failed = False


def call(payload, delimiter=True):
    if mode == "req":
        sock.send(payload)
        return msgpack.unpackb(sock.recv(), raw=False)
    frames = [b"", payload] if delimiter else [payload]
    sock.send_multipart(frames)
    got = sock.recv_multipart()
    if len(got) != len(frames):
        raise AssertionError("reply frames %r" % (got,))
    return msgpack.unpackb(got[-1], raw=False)


def check(name, cond, detail=""):
    global failed
    if cond:
        print("ok", name)
    else:
        failed = True
        print("FAIL", name, detail)


msg = {"command": "dispatch_message", "target_oid": "genesis_obj",
       "message_name": "display_yourself", "args": [], "kwargs": {}}
rep = call(msgpack.packb(msg))
check("dispatch", rep.get("status") == "ok" and rep.get("result") == "display_yourself on genesis_obj", repr(rep))

msg = {"command": "dispatch_message", "target_oid": 42, "message_name": "add",
       "args": [1, 2.5, "three", None, True, b"\x00\x01", [1, [2]], {"k": "v"}],
       "kwargs": {"big": 2**64 - 1, "neg": -5}}
rep = call(msgpack.packb(msg, use_bin_type=True))
check("values", rep.get("status") == "ok" and rep.get("result") == {"target": 42, "args": msg["args"], "kwargs": msg["kwargs"]}, repr(rep))

rep = call(msgpack.packb({"command": "initiate_cognitive_cycle", "target_oid": "7",
                          "mission_brief": {"type": "self_audit", "audit_type": "cognitive_efficiency"}}))
check("cycle", rep.get("status") == "ok", repr(rep))

rep = call(msgpack.packb({"command": "no_such_command"}))
check("unknown", rep.get("status") == "error" and rep.get("code") == "unknown_command", repr(rep))

rep = call(b"\xc1garbage")
check("garbage", rep.get("status") == "error" and rep.get("code") == "bad_request", repr(rep))

if mode == "dealer":
    rep = call(msgpack.packb({"command": "status"}), delimiter=False)
    check("no-delimiter", rep.get("status") == "ok", repr(rep))
    n = 20
    for i in range(n):
        sock.send_multipart([b"", msgpack.packb({"command": "dispatch_message", "target_oid": "o",
                                                 "message_name": "m%d" % i})])
    seen = set()
    for i in range(n):
        got = sock.recv_multipart()
        seen.add(msgpack.unpackb(got[-1], raw=False)["result"])
    check("pipelined", seen == {"m%d on o" % i for i in range(n)}, repr(seen))

sock.close()
ctx.term()
sys.exit(1 if failed else 0)
