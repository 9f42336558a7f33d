"""Self-test for cork_redirect (needs no Cork binary).

Run with the suite venv (it needs requests, requests-oauthlib and an installed
``trello`` client library, e.g. ha-py-trello):

    ~/.cache/cork-venv/bin/python -m pytest -p cork_redirect -q \
        tests/clients/selftest_cork_redirect.py

(PYTHONPATH=tests/clients).  A throw-away http.server records what arrives
and the test checks that a real TrelloClient talks to it, with the path, the
query and the OAuth1 header intact (the signature still verifies against the
original https://api.trello.com URL).
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
from urllib.parse import urlsplit

import pytest
import requests
from oauthlib.oauth1.rfc5849 import signature as oauth_sig

import cork_redirect

KEY = "0123456789abcdef0123456789abcdef"
TOKEN = "tok" + "x" * 61


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": body,
            }
        )
        path = urlsplit(self.path).path
        if path.startswith("/1/members/me/boards"):
            payload = [{"id": "5" * 24, "name": "B", "desc": "", "closed": False,
                        "url": "http://x/b", "idOrganization": None, "pinned": False,
                        "prefs": {}, "labelNames": {}}]
        elif path.startswith("/1/boards") and self.command == "POST":
            payload = {"id": "6" * 24, "name": "TEST BOARD", "desc": "", "closed": False,
                       "url": "http://x/b", "idOrganization": None, "pinned": False,
                       "prefs": {}, "labelNames": {}}
        else:
            payload = {}
        out = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *a):
        pass


@pytest.fixture()
def server(monkeypatch):
    _Recorder.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    base = "http://127.0.0.1:%d" % httpd.server_address[1]
    monkeypatch.setenv("CORK_BASE_URL", base)
    # Prove proxies are bypassed for redirected requests.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield base
    httpd.shutdown()
    httpd.server_close()


def test_rewrite_url():
    b = "http://127.0.0.1:1234"
    assert cork_redirect.rewrite_url("https://api.trello.com/1/boards/x?fields=a%2Cb&x=1", b) == \
        "http://127.0.0.1:1234/1/boards/x?fields=a%2Cb&x=1"
    assert cork_redirect.rewrite_url("https://trello.com/1/tokens/t/webhooks/", b) == \
        "http://127.0.0.1:1234/1/tokens/t/webhooks/"
    assert cork_redirect.rewrite_url("https://API.Trello.com:443/1/members/me", b + "/") == \
        "http://127.0.0.1:1234/1/members/me"
    assert cork_redirect.rewrite_url("https://api.trello.com/1/x", "http://h:1/pre/") == \
        "http://h:1/pre/1/x"
    assert cork_redirect.rewrite_url("https://example.com/1/boards", b) is None
    assert cork_redirect.rewrite_url("https://evil-trello.com/1/boards", b) is None
    assert cork_redirect.rewrite_url("https://api.trello.com.evil/1/", b) is None


def test_patch_installed():
    assert requests.adapters.HTTPAdapter.send is cork_redirect._redirecting_send


def test_unset_base_refuses(monkeypatch):
    monkeypatch.delenv("CORK_BASE_URL", raising=False)
    with pytest.raises(requests.exceptions.ConnectionError, match="CORK_BASE_URL"):
        requests.get("https://api.trello.com/1/members/me", timeout=2)


def _verify_oauth(rec, original_url):
    auth = rec["headers"]["Authorization"]
    assert auth.startswith("OAuth ")
    params = oauth_sig.collect_parameters(
        uri_query=urlsplit(original_url).query,
        headers={"Authorization": auth},
        exclude_oauth_signature=True,
    )
    header = dict(oauth_sig.collect_parameters(headers={"Authorization": auth},
                                               exclude_oauth_signature=False))
    assert header["oauth_consumer_key"] == KEY
    assert header["oauth_token"] == TOKEN
    assert header["oauth_signature_method"] == "HMAC-SHA1"
    base_string = oauth_sig.signature_base_string(
        rec["method"],
        oauth_sig.base_string_uri(original_url),
        oauth_sig.normalize_parameters(params),
    )
    # ha-py-trello passes no api_secret / token_secret: both secrets empty.
    digest = hmac.new(b"&", base_string.encode(), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    assert header["oauth_signature"] == expected


def test_trello_client_goes_to_local_server(server):
    from trello import TrelloClient

    client = TrelloClient(KEY, token=TOKEN)
    boards = client.list_boards(board_filter="open")
    assert len(boards) == 1
    board = client.add_board("TEST BOARD")
    assert board.id == "6" * 24

    seen = _Recorder.seen
    assert len(seen) >= 2, seen
    get = seen[0]
    assert get["method"] == "GET"
    assert urlsplit(get["path"]).path.startswith("/1/members/me/boards")
    assert "filter=open" in get["path"]
    assert get["headers"]["Host"] == server.split("//")[1]
    _verify_oauth(get, "https://api.trello.com" + get["path"])

    post = next(r for r in seen if r["method"] == "POST")
    assert urlsplit(post["path"]).path.rstrip("/") == "/1/boards"
    assert json.loads(post["body"])["name"] == "TEST BOARD"
    assert post["headers"]["Content-Type"].startswith("application/json")
    _verify_oauth(post, "https://api.trello.com" + post["path"])
    assert cork_redirect.redirected_count() >= 2


def test_other_hosts_untouched(server):
    # Not a Trello host: must not be redirected (proxy from env applies -> error).
    with pytest.raises(requests.exceptions.RequestException):
        requests.get("http://example.invalid/1/boards", timeout=2)
    assert _Recorder.seen == []


if __name__ == "__main__":
    raise SystemExit(pytest.main(["-p", "cork_redirect", "-q", os.path.abspath(__file__)]))
