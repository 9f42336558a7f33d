"""pytest plugin: notes every secret Cork hands a client during the suite.

With CORK_SECRETS_RECORD set (scripts/test with CORK_CHECK_LOG_SECRETS=1), every answer
a `requests` session receives is read for secrets — the `token`, `secret` and
`oauth_token_secret` fields of a JSON body, the pairs of a form-encoded OAuth answer,
tokens and verifiers in a redirect's Location, the values of the cookies it sets — and
every token a request carries (query, OAuth header); each is appended to the record as
KIND<TAB>VALUE. scripts/check-log-secrets then fails if a log of the run holds one.
Without the variable the plugin does nothing.
"""

import json
import os
import urllib.parse

import requests

_SEEN = set()
_original_send = None

PAIR_KINDS = {
    "token": "token",
    "oauth_token": "token",
    "oauth_token_secret": "oauth-token-secret",
    "oauth_verifier": "oauth-verifier",
}


def record(kind, value):
    path = os.environ.get("CORK_SECRETS_RECORD")
    if not path or not isinstance(value, str) or not value or "\n" in value or value in _SEEN:
        return
    _SEEN.add(value)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"{kind}\t{value}\n")


def _walk(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "token" and isinstance(item, str):
                record("token", item)
            elif key == "secret" and isinstance(item, str):
                record("app-secret", item)
            elif key == "oauth_token_secret" and isinstance(item, str):
                record("oauth-token-secret", item)
            else:
                _walk(item)
    elif isinstance(value, list):
        for item in value:
            _walk(item)


def _pairs(text):
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=False):
        if name in PAIR_KINDS:
            record(PAIR_KINDS[name], value)


def record_answer(response):
    """The secrets in one answer (and in the request that asked for it)."""
    request = response.request
    if request is not None:
        _pairs(urllib.parse.urlsplit(request.url).query)
        auth = request.headers.get("Authorization", "")
        if isinstance(auth, bytes):
            auth = auth.decode("utf-8", "replace")
        if auth.startswith("OAuth "):
            for part in auth[len("OAuth "):].split(","):
                name, _, value = part.strip().partition("=")
                if name == "oauth_token":
                    record("token", urllib.parse.unquote(value.strip('"')))
    content_type = response.headers.get("Content-Type", "")
    text = response.text if any(t in content_type for t in ("json", "text", "form")) else ""
    try:
        _walk(json.loads(text))
    except ValueError:
        if text.startswith("oauth_token="):
            _pairs(text)
    location = response.headers.get("Location", "")
    for sep in ("?", "#"):
        if sep in location:
            _pairs(location.split(sep, 1)[1].replace("#", "&"))
            break
    for cookie in response.cookies:
        record(f"cookie {cookie.name}", cookie.value)


def _recording_send(self, request, *args, **kwargs):
    response = _original_send(self, request, *args, **kwargs)
    for answer in [*response.history, response]:
        record_answer(answer)
    return response


def pytest_configure(config):
    global _original_send
    if os.environ.get("CORK_SECRETS_RECORD") and _original_send is None:
        _original_send = requests.Session.send
        requests.Session.send = _recording_send


def pytest_unconfigure(config):
    global _original_send
    if _original_send is not None:
        requests.Session.send = _original_send
        _original_send = None
