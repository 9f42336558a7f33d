"""Cork's OAuth 1.0a flow driven by real client libraries.

requests-oauthlib's ``OAuth1Session`` runs the three legged flow (out-of-band PIN and
callback), and py-trello's own ``trello.util.create_oauth_token`` helper obtains a token
that py-trello's ``TrelloClient`` then uses.  The member's browser is played over HTTP:
log in, open the consent page, approve.

Environment (set by tests/clients/run-oauth.sh): CORK_BASE_URL, CORK_OAUTH_USER,
CORK_OAUTH_PASSWORD, TRELLO_API_KEY, TRELLO_API_SECRET.

The libraries sign their requests over the URL they request, so Trello's URLs are
rewritten to Cork *before* the request is prepared (and signed): the signature base
string then names Cork, as it would for a real deployment.
"""

import html
import os
import re
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import requests.sessions
from requests_oauthlib import OAuth1Session
from requests_oauthlib.oauth1_session import TokenRequestDenied

BASE = os.environ["CORK_BASE_URL"].rstrip("/")
USER = os.environ["CORK_OAUTH_USER"]
PASSWORD = os.environ["CORK_OAUTH_PASSWORD"]
KEY = os.environ["TRELLO_API_KEY"]
SECRET = os.environ["TRELLO_API_SECRET"]
TRELLO_HOSTS = {"trello.com", "api.trello.com"}


def to_cork(url):
    """https://trello.com/1/... or https://api.trello.com/1/... -> the same path on Cork."""
    parts = urlsplit(url)
    if (parts.hostname or "") not in TRELLO_HOSTS:
        return url
    base = urlsplit(BASE)
    return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, parts.fragment))


@pytest.fixture(autouse=True)
def trello_means_cork(monkeypatch):
    """Sends every requests call aimed at Trello to Cork, before signing."""
    original = requests.sessions.Session.request

    def request(self, method, url, *args, **kwargs):
        return original(self, method, to_cork(url), *args, **kwargs)

    monkeypatch.setattr(requests.sessions.Session, "request", request)
    # Never let a proxy sit between the tests and the local server.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def hidden_fields(page):
    return {html.unescape(n): html.unescape(v) for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)}


def logged_in_browser():
    browser = requests.Session()
    form = browser.get(BASE + "/login")
    assert form.status_code == 200, form.text
    csrf = hidden_fields(form.text)["csrf"]
    answer = browser.post(BASE + "/login", data={"csrf": csrf, "username": USER, "password": PASSWORD}, allow_redirects=False)
    assert answer.status_code == 303, answer.text
    return browser


def approve(browser, authorize_url, decision="approve"):
    """Opens the consent page like a browser and answers it; returns the raw answer."""
    page = browser.get(to_cork(authorize_url), allow_redirects=False)
    assert page.status_code == 200, page.text
    assert "Let " in page.text and "use your account?" in page.text
    action = re.search(r'<form method="post" action="(/1/[^"]+)"', page.text).group(1)
    fields = hidden_fields(page.text)
    fields.update({"access": "all", "decision": decision})
    return browser.post(BASE + html.unescape(action), data=fields, allow_redirects=False)


def pin_of(answer):
    assert answer.status_code == 200, answer.text
    return re.search(r'id="verifier">([0-9a-f]+)<', answer.text).group(1)


def member_of(token):
    answer = requests.get(BASE + "/1/members/me", params={"key": KEY, "token": token})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_out_of_band_flow_with_a_pin():
    consumer = OAuth1Session(KEY, client_secret=SECRET, callback_uri="oob")
    request_token = consumer.fetch_request_token(BASE + "/1/OAuthGetRequestToken")
    assert request_token.get("oauth_callback_confirmed") == "true"
    url = consumer.authorization_url(BASE + "/1/OAuthAuthorizeToken", name="oauthlib-pin", scope="read", expiration="1hour")
    pin = pin_of(approve(logged_in_browser(), url))

    def exchange():
        return OAuth1Session(
            KEY,
            client_secret=SECRET,
            resource_owner_key=request_token["oauth_token"],
            resource_owner_secret=request_token["oauth_token_secret"],
            verifier=pin,
        )

    access = exchange().fetch_access_token(BASE + "/1/OAuthGetAccessToken")
    assert re.fullmatch(r"[0-9a-f]{64}", access["oauth_token"])
    assert member_of(access["oauth_token"])["username"] == USER
    info = requests.get(BASE + "/1/tokens/" + access["oauth_token"], params={"key": KEY, "token": access["oauth_token"]}).json()
    assert info["identifier"] == "oauthlib-pin"
    assert info["dateExpires"] is not None
    # The verifier and the request token are spent: the same exchange again is refused.
    with pytest.raises(TokenRequestDenied) as refused:
        exchange().fetch_access_token(BASE + "/1/OAuthGetAccessToken")
    assert refused.value.status_code == 401
    assert "invalid oauth_token" in refused.value.response.text


def test_callback_flow_redirects_with_the_verifier():
    consumer = OAuth1Session(KEY, client_secret=SECRET, callback_uri="https://consumer.example/back")
    consumer.fetch_request_token(BASE + "/1/OAuthGetRequestToken")
    url = consumer.authorization_url(BASE + "/1/OAuthAuthorizeToken", name="oauthlib-web", scope="read,write")
    answer = approve(logged_in_browser(), url)
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith("https://consumer.example/back?")
    consumer.parse_authorization_response(location)
    access = consumer.fetch_access_token(BASE + "/1/OAuthGetAccessToken")
    assert member_of(access["oauth_token"])["username"] == USER


def test_a_wrong_consumer_secret_is_refused():
    consumer = OAuth1Session(KEY, client_secret="0" * 64, callback_uri="oob")
    with pytest.raises(TokenRequestDenied) as refused:
        consumer.fetch_request_token(BASE + "/1/OAuthGetRequestToken")
    assert refused.value.status_code == 401
    assert refused.value.response.text == "invalid signature"


def test_denying_issues_nothing():
    consumer = OAuth1Session(KEY, client_secret=SECRET, callback_uri="oob")
    request_token = consumer.fetch_request_token(BASE + "/1/OAuthGetRequestToken")
    url = consumer.authorization_url(BASE + "/1/OAuthAuthorizeToken", name="denied")
    answer = approve(logged_in_browser(), url, decision="deny")
    assert answer.status_code == 200 and "Nothing was authorized" in answer.text
    exchange = OAuth1Session(
        KEY,
        client_secret=SECRET,
        resource_owner_key=request_token["oauth_token"],
        resource_owner_secret=request_token["oauth_token_secret"],
        verifier="0" * 32,
    )
    with pytest.raises(TokenRequestDenied) as refused:
        exchange.fetch_access_token(BASE + "/1/OAuthGetAccessToken")
    assert refused.value.status_code == 401


def test_py_trello_create_oauth_token_and_client(monkeypatch, capsys):
    from trello import TrelloClient
    from trello.util import create_oauth_token

    browser = logged_in_browser()
    state = {}

    def answer(prompt=""):
        if "authorized" in prompt:
            printed = capsys.readouterr().out
            url = re.search(r"^(https://trello\.com/1/OAuthAuthorizeToken\?\S+)$", printed, re.M).group(1)
            state["url"] = url
            state["pin"] = pin_of(approve(browser, url))
            return "y"
        assert "PIN" in prompt
        return state["pin"]

    monkeypatch.setattr("builtins.input", answer)
    access = create_oauth_token(expiration="1day", scope="read,write", key=KEY, secret=SECRET, name="py-trello", output=True)
    assert "scope=read,write" in state["url"] and "expiration=1day" in state["url"]
    token = access["oauth_token"]
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    # The helper prints the access token and its secret: taken here, so that pytest's
    # report (-rA shows what passing tests printed) does not put them in the run's log.
    printed = capsys.readouterr().out
    assert token in printed and access["oauth_token_secret"] in printed

    client = TrelloClient(api_key=KEY, api_secret=SECRET, token=token, token_secret=access["oauth_token_secret"])
    me = client.fetch_json("/members/me")
    assert me["username"] == USER
    board = client.add_board("Made through OAuth")
    assert board.name == "Made through OAuth"
    assert any(b.id == board.id for b in client.list_boards())
