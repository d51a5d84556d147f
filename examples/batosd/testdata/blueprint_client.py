"""The blueprint's own client (Part IV 4.1): a pyzmq REQ socket sending one
msgpack-encoded dict to the daemon and printing the decoded reply as JSON.

Usage: blueprint_client.py ENDPOINT [TARGET MESSAGE]
"""
import json
import sys

import msgpack
import zmq

endpoint = sys.argv[1]
target = sys.argv[2] if len(sys.argv) > 2 else "genesis_obj"
message = sys.argv[3] if len(sys.argv) > 3 else "display_yourself"

ctx = zmq.Context()
sock = ctx.socket(zmq.REQ)
sock.setsockopt(zmq.LINGER, 0)
sock.setsockopt(zmq.RCVTIMEO, 30000)
sock.connect(endpoint)
payload = {"command": "dispatch_message", "target_oid": target,
           "message_name": message, "args": [], "kwargs": {}}
sock.send(msgpack.packb(payload))
reply = msgpack.unpackb(sock.recv(), raw=False)
print(json.dumps(reply, default=repr))
