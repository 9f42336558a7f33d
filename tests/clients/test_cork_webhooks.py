"""Cork's own check of the client library's webhook calls, run beside its suite.

Neither ha-py-trello 0.24.1 nor py-trello 0.20.1 tests webhooks beyond
``test52_list_hooks`` (which only asserts that ``list_hooks()`` returns a list, so
it would pass against an empty stub). This file drives the library's own
``create_hook``, ``list_hooks`` and ``WebHook.delete`` against Cork with a real
receiver on 127.0.0.1 (allow-listed by run-python-suite.sh through
``CORK_WEBHOOK_ALLOWED_HOSTS``), and verifies a delivery's signature with the
application secret, as a Trello integration does.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
import unittest

from trello import TrelloClient


class _Receiver(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.heads = 0
        self.posts = []
        self.lock = threading.Lock()

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.server_address[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_HEAD(self):
        with self.server.lock:
            self.server.heads += 1
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.posts.append((self.path, body, self.headers.get("X-Trello-Webhook", "")))
        self.send_response(200)
        self.end_headers()


def _signed(secret, body, callback):
    digest = hmac.new(secret.encode(), body + callback.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class CorkWebhookTestCase(unittest.TestCase):
    def setUp(self):
        self.client = TrelloClient(os.environ["TRELLO_API_KEY"], token=os.environ["TRELLO_TOKEN"])
        self.receiver = _Receiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()

    def tearDown(self):
        self.receiver.shutdown()
        self.receiver.server_close()

    def test_create_hook_delivers_signed_actions(self):
        board = self.client.add_board("Cork webhook check")
        try:
            self._check(board)
        finally:
            # Closed again, so the suite's count of open boards stays right.
            board.close()

    def _check(self, board):
        callback = self.receiver.base + "/trello?board=" + board.id
        hook = self.client.create_hook(callback, board.id, desc="cork check")
        self.assertTrue(hook.id)
        self.assertEqual(self.receiver.heads, 1, "one HEAD check before the webhook is stored")
        self.assertIn(hook.id, [h.id for h in self.client.list_hooks()])
        # A duplicate is refused with Trello's message.
        with self.assertRaises(Exception) as refused:
            self.client.create_hook(callback, board.id)
        self.assertIn("A webhook with that callback, model, and token already exists", str(refused.exception))

        board.add_list("Hooked list")
        deadline = time.time() + 20
        while not self.receiver.posts and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(self.receiver.posts, "no delivery arrived")
        path, body, signature = self.receiver.posts[0]
        self.assertEqual(path, "/trello?board=" + board.id)
        self.assertEqual(signature, _signed(os.environ["CORK_APP_SECRET"], body, callback))
        payload = json.loads(body)
        self.assertEqual(payload["action"]["type"], "createList")
        self.assertEqual(payload["model"]["id"], board.id)
        self.assertEqual(payload["webhook"]["id"], hook.id)

        hook.delete()
        self.assertNotIn(hook.id, [h.id for h in self.client.list_hooks()])


if __name__ == "__main__":
    unittest.main()
