"""pytest plugin that points Trello client libraries at a Cork server.

Load it with ``-p cork_redirect`` (with this directory on PYTHONPATH) and set
``CORK_BASE_URL`` to the Cork base URL, e.g. ``http://127.0.0.1:8080``.

Every request sent through ``requests`` whose URL is ``https://api.trello.com/...``
or ``https://trello.com/...`` (plain http too) is rewritten to
``$CORK_BASE_URL/...``, keeping the path and the raw query string.

The rewrite happens in ``requests.adapters.HTTPAdapter.send``, i.e. after the
request has been fully prepared.  Authentication hooks such as
requests-oauthlib's ``OAuth1`` run during preparation, so the ``Authorization:
OAuth ...`` header (and its signature, computed over the original
``https://api.trello.com/...`` URL) reaches Cork byte-for-byte unchanged.
The client library's files are never touched.

If ``CORK_BASE_URL`` is not set, requests to Trello hosts fail with a
``requests.exceptions.ConnectionError`` instead of reaching the real Trello.

With ``CORK_BASE_URLS`` (comma-separated: several Cork nodes on one database) each
request goes to one of them chosen at random, as a balancer would send it; the summary
says how many went to each.
"""

import os
import random
import threading
from urllib.parse import urlsplit, urlunsplit

import requests.adapters
import requests.exceptions

TRELLO_HOSTS = frozenset({"api.trello.com", "trello.com"})
_SCHEMES = frozenset({"http", "https"})

_lock = threading.Lock()
_original_send = None
_stats = {"redirected": 0, "by_node": {}}


def node_urls():
    """The nodes of ``CORK_BASE_URLS``, or an empty list."""
    return [u.strip() for u in os.environ.get("CORK_BASE_URLS", "").split(",") if u.strip()]


def base_url():
    """The Cork base URL for the next request (a random node of ``CORK_BASE_URLS``,
    else ``CORK_BASE_URL``), or None when neither is set."""
    nodes = node_urls()
    if nodes:
        return random.choice(nodes)
    base = os.environ.get("CORK_BASE_URL", "").strip()
    return base or None


def is_trello_url(url):
    parts = urlsplit(url)
    return parts.scheme.lower() in _SCHEMES and (parts.hostname or "").lower() in TRELLO_HOSTS


def rewrite_url(url, base):
    """Map a Trello URL onto ``base``; return None if ``url`` is not a Trello URL.

    ``base`` may carry a path prefix (``http://host:port/prefix``); the Trello
    path is appended to it.  Query string is kept verbatim (already encoded).
    """
    if not is_trello_url(url):
        return None
    parts = urlsplit(url)
    b = urlsplit(base)
    if b.scheme.lower() not in _SCHEMES or not b.netloc:
        raise ValueError("CORK_BASE_URL must look like http://HOST:PORT, got %r" % base)
    path = b.path.rstrip("/") + (parts.path or "/")
    return urlunsplit((b.scheme, b.netloc, path, parts.query, ""))


def _redirecting_send(self, request, *args, **kwargs):
    if is_trello_url(request.url):
        base = base_url()
        if base is None:
            raise requests.exceptions.ConnectionError(
                "cork_redirect: CORK_BASE_URL is not set; refusing to contact %s"
                % request.url,
                request=request,
            )
        request.url = rewrite_url(request.url, base)
        # Proxies were chosen for the original https://api.trello.com URL;
        # a local Cork server must be reached directly.
        if len(args) >= 5:  # positional: stream, timeout, verify, cert, proxies
            args = args[:4] + ({},) + args[5:]
        else:
            kwargs["proxies"] = {}
        with _lock:
            _stats["redirected"] += 1
            _stats["by_node"][base] = _stats["by_node"].get(base, 0) + 1
    return _original_send(self, request, *args, **kwargs)


def install():
    """Patch HTTPAdapter.send (idempotent)."""
    global _original_send
    with _lock:
        if _original_send is None:
            _original_send = requests.adapters.HTTPAdapter.send
            requests.adapters.HTTPAdapter.send = _redirecting_send


def uninstall():
    global _original_send
    with _lock:
        if _original_send is not None:
            requests.adapters.HTTPAdapter.send = _original_send
            _original_send = None


def redirected_count():
    return _stats["redirected"]


# --- pytest hooks -----------------------------------------------------------


def pytest_configure(config):
    install()


def pytest_unconfigure(config):
    uninstall()


def pytest_report_header(config):
    base = base_url()
    target = base if base else "NOT SET (Trello requests will fail)"
    return "cork_redirect: %s -> %s" % (", ".join(sorted(TRELLO_HOSTS)), target)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    nodes = node_urls()
    if nodes:
        spread = ", ".join("%s: %d" % (n, _stats["by_node"].get(n, 0)) for n in nodes)
        terminalreporter.write_line(
            "cork_redirect: %d request(s) redirected to %d nodes at random (%s)"
            % (redirected_count(), len(nodes), spread)
        )
        return
    terminalreporter.write_line(
        "cork_redirect: %d request(s) redirected (CORK_BASE_URL=%s)"
        % (redirected_count(), base_url())
    )
