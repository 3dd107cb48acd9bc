"""The dashboard in headless Chromium (issue 14's acceptance), run by tests/browser/run.sh.

Opens the dashboard link `switchboard serve` printed and walks the catalogue (every connector,
search, category filter), the setup flow of github-issues against a fake GitHub API (a wrong token
shows the failure reason, the right one passes Test connection; the instance is not polled before
it is confirmed), monitoring after the poll (healthy, signal counts, chart, recent syncs), the
signal feed, a related item's context packet (a PR and a CI build naming PROJ-123, delivered
as signed webhooks), disable, disconnect, a pasted descriptor's examples run in the page, and a custom
descriptor with two mistakes (both JSON pointers shown), and last the sign-in page's OIDC button:
code + PKCE at a fake identity provider, back to the page it left, and the API answering the ID
token with that user's access (one project, not admin). Fails on any SEVERE browser console
entry except the one 422 the custom page provokes, and on any axe-core (WCAG 2.1 A/AA) violation
or sideways scrolling on a page it photographs, at a laptop's width and at a phone's.
Writes {catalogue,setup,monitoring,signals,context,custom,signin}.png to $SCREENSHOT_DIR.

Env: DASHBOARD_LINK, FAKE_GITHUB_URL, FAKE_GITHUB_TOKEN, FAKE_GITHUB_LOG, OIDC_ISSUER, OIDC_LOG,
SCREENSHOT_DIR.
"""

import json
import os
import re
import shutil
import sys
import time
import traceback
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

LINK = os.environ["DASHBOARD_LINK"]
FAKE_URL = os.environ["FAKE_GITHUB_URL"]
FAKE_TOKEN = os.environ["FAKE_GITHUB_TOKEN"]
FAKE_LOG = os.environ["FAKE_GITHUB_LOG"]
SHOTS = os.environ["SCREENSHOT_DIR"]
OIDC_ISSUER = os.environ["OIDC_ISSUER"]
OIDC_LOG = os.environ["OIDC_LOG"]
with open(os.environ["AXE_JS"], encoding="utf-8") as axe_file:
    AXE = axe_file.read()
PHONE = (390, 844)  # a phone's CSS viewport
AXE_RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BASE = LINK.split("#", 1)[0].rstrip("/")
ADMIN = LINK.split("#token=", 1)[1]
PROJECT = "demo"  # the dashboard's default project
CONNECTOR = "github-issues"
WAIT = 20
WIDTH, HEIGHT = 1280, 900  # the fixed window size

# SEVERE console entries that are expected: the browser logs the 422 of the deliberately broken
# custom descriptor as a failed resource load.
EXPECTED_SEVERE = [re.compile(r"/connectors - Failed to load resource: the server responded with a status of 422")]


def api(method, path, body=None, token=ADMIN):
    """Calls the registry API as the admin (or with `token`); returns the decoded JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{BASE}/{path.lstrip('/')}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
    return json.loads(text) if text else None


def fake_requests(kind):
    """The fake GitHub requests of one kind so far ("issues" or "users")."""
    if not os.path.exists(FAKE_LOG):
        return []
    with open(FAKE_LOG, encoding="utf-8") as log:
        lines = [json.loads(line) for line in log if line.strip()]
    if kind == "issues":
        return [r for r in lines if r["path"].endswith("/issues")]
    return [r for r in lines if r["path"].startswith("/users/")]


def assert_no_new_polls(seconds, before):
    """Polls the fake's log for `seconds` (several poll ticks) and fails on any new issues request."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = len(fake_requests("issues"))
        assert now == before, f"the instance was polled while disabled ({now - before} issues request(s))"
        time.sleep(0.25)


class Browser:
    def __init__(self):
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={WIDTH},{HEIGHT}",
                    "--disable-gpu", "--no-first-run", "--disable-extensions", "--lang=en-US"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
        # The page re-renders a view when its data arrives (the monitor every 10 s): an element
        # found just before that is stale. A wait whose condition looks the element up tries
        # again; `click`, `fill` and `checked` act inside such a wait.
        self.wait = WebDriverWait(self.driver, WAIT, ignored_exceptions=[StaleElementReferenceException])
        self.console = []
        self.findings = []  # accessibility and layout problems, by page

    def audit(self, page):
        """axe-core's WCAG 2.1 A/AA rules on the page as shown; then, at a phone's width, the page
        must not scroll sideways and must pass them again."""
        for width, height, label in ((WIDTH, HEIGHT, "laptop"), (*PHONE, "phone")):
            self.driver.set_window_size(width, height)
            overflow = self.driver.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if overflow > 0:
                self.findings.append(f"{page} ({label}): the page scrolls sideways by {overflow} px")
            self.driver.execute_script(AXE)
            result = self.driver.execute_async_script(
                "const done = arguments[arguments.length - 1];"
                "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
                ".then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,"
                " nodes: v.nodes.map((n) => n.target.join(' '))})))).catch((e) => done(String(e)));",
                AXE_RULES)
            if isinstance(result, str):
                raise AssertionError(f"axe-core failed on {page}: {result}")
            for v in result:
                self.findings.append(f"{page} ({label}): {v['id']} [{v['impact']}] {v['help']}: {', '.join(v['nodes'][:5])}")
        self.driver.set_window_size(WIDTH, HEIGHT)

    def collect_console(self):
        self.console.extend(self.driver.get_log("browser"))

    def until(self, condition, message):
        return self.wait.until(condition, message)

    def find(self, css):
        return self.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)), f"no element {css}")

    def visible(self, css):
        return self.until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} is not visible")

    def click(self, css):
        def clicked(driver):
            element = EC.element_to_be_clickable((By.CSS_SELECTOR, css))(driver)
            if not element:
                return False
            element.click()  # stale when the view re-rendered since it was found: tried again
            return True

        self.until(clicked, f"{css} is not clickable")

    def text_of(self, css, pattern, message=None):
        """Waits until the element's text matches `pattern`; returns the text."""
        regex = re.compile(pattern)

        def matches(driver):
            try:
                text = driver.find_element(By.CSS_SELECTOR, css).text
            except Exception:  # not there yet, or replaced while reading
                return False
            return text if regex.search(text) else False

        return self.until(matches, message or f"{css} never matched {pattern!r}")

    def fill(self, css, value):
        def filled(driver):
            field = EC.visibility_of_element_located((By.CSS_SELECTOR, css))(driver)
            if not field:
                return False
            field.clear()
            field.send_keys(value)
            return True

        self.until(filled, f"{css} is not visible")

    def checked(self, css):
        """Whether the checkbox is checked, read inside a wait (a re-render may replace it)."""
        return self.until(lambda d: (d.find_element(By.CSS_SELECTOR, css).is_selected(),), f"no element {css}")[0]

    def shot(self, name):
        """Writes the whole page (the window grown to the document's height, at most 2400 px)."""
        os.makedirs(SHOTS, exist_ok=True)
        self.driver.execute_script("window.scrollTo(0, 0)")
        chrome = self.driver.execute_script("return window.outerHeight - window.innerHeight")
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(WIDTH, min(height + chrome, 2400))
        try:
            assert self.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png")), f"screenshot {name} not written"
        finally:
            self.driver.set_window_size(WIDTH, HEIGHT)
        self.audit(name)

    def visible_cards(self):
        return [c for c in self.driver.find_elements(By.CSS_SELECTOR, "#connectors li.card") if c.is_displayed()]


def catalogue(b, total):
    b.driver.get(LINK)
    b.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#connectors li.card")) == total,
            f"the catalogue does not show the {total} connectors of GET /connectors")
    assert "token=" not in b.driver.current_url, "the token stayed in the address bar"
    assert b.driver.execute_script("return sessionStorage.getItem('switchboard.token')") == ADMIN
    b.text_of("#count", rf"^{total} of {total} connectors")
    card = b.find(f'#connectors li[data-id="{CONNECTOR}"]')
    assert card.find_element(By.CSS_SELECTOR, ".status").text == "Not configured"
    b.shot("catalogue")

    # Search narrows by name.
    b.fill("#search", "github")
    b.until(lambda d: 0 < len(b.visible_cards()) < total, "search did not narrow the catalogue")
    shown = b.visible_cards()
    assert all("github" in c.text.lower() or "github" in c.get_attribute("data-id") for c in shown)
    assert CONNECTOR in [c.get_attribute("data-id") for c in shown]
    b.text_of("#count", rf"^{len(shown)} of {total} connectors")
    b.fill("#search", "no connector is called this")
    b.text_of("#count", "nothing matches")
    b.driver.find_element(By.CSS_SELECTOR, "#search").clear()
    b.driver.execute_script("document.getElementById('search').dispatchEvent(new Event('input'))")
    b.text_of("#count", rf"^{total} of {total}")

    # The category filter narrows to one category.
    Select(b.find("#category")).select_by_value("communication")
    b.until(lambda d: 0 < len(b.visible_cards()) < total, "the category filter did not narrow the catalogue")
    assert {c.get_attribute("data-category") for c in b.visible_cards()} == {"communication"}
    Select(b.find("#category")).select_by_value("")
    b.text_of("#count", rf"^{total} of {total}")


def setup(b):
    b.click(f'a[aria-label="Connect GitHub Issues"]')
    b.visible("#setup-form")
    token = b.find("#cred-token")
    assert token.get_attribute("type") == "password"
    assert b.driver.find_element(By.CSS_SELECTOR, 'label[for="cred-token"]').text.startswith("Personal access token")
    assert token.get_attribute("placeholder") == "github_pat_…"
    b.fill("#conf-baseUrl", FAKE_URL)
    b.fill("#conf-owner", "octocat")
    b.fill("#conf-repo", "Hello-World")

    # A wrong token: the health check's reason is shown.
    b.fill("#cred-token", "github_pat_wrong")
    b.click("#test")
    failure = b.text_of("#test-outcome", r"Connection failed", "a wrong token did not show a failure")
    assert "credentials were rejected" in failure and "401" in failure, failure
    assert b.find("#test-outcome").get_attribute("class") == "error"

    # The right token passes.
    b.fill("#cred-token", FAKE_TOKEN)
    b.click("#test")
    b.text_of("#test-outcome", r"Connection works \(HTTP 200", "Test connection did not pass with the right token")
    assert [r["authorised"] for r in fake_requests("users")][-2:] == [False, True]
    b.shot("setup")

    # Tested but not confirmed: the instance exists, disabled, and is never polled.
    assert api("GET", f"projects/{PROJECT}/connectors/{CONNECTOR}")["enabled"] is False
    assert_no_new_polls(3.5, 0)


def monitoring(b):
    b.click("#confirm")
    b.until(lambda d: d.current_url.endswith(f"#/instance/{CONNECTOR}"), "Confirm did not open the instance page")
    b.find("#health-status")
    # The poller (1-second tick) picks the enabled instance up: both pages of issues.
    b.until(lambda d: api("GET", f"projects/{PROJECT}/connectors/{CONNECTOR}/health")["lastSyncAt"],
            "the instance was not polled after Confirm")
    assert len(fake_requests("issues")) == 2, fake_requests("issues")
    # The page's Test connection also refreshes it.
    b.click("#test")
    b.text_of("#test-outcome", r"Connection works")
    b.text_of("#health-status", r"^Health: healthy$")
    b.text_of("#count-24h", r"^3$", "the 24-hour count is not the 3 polled issues")
    b.text_of("#count-7d", r"^3$")
    bars = b.driver.find_elements(By.CSS_SELECTOR, "#signal-chart rect.bar")
    assert len(bars) == 24
    assert sum(int(r.get_attribute("data-count")) for r in bars) == 3, "the chart does not count the 3 signals"
    assert "3 signals timestamped" in b.find("#signal-chart").get_attribute("aria-label")
    row = b.text_of("#syncs tbody tr", r"succeeded")
    assert re.search(r"succeeded\s+3\s+2\b", row), f"the sync row is not 3 items in 2 pages: {row!r}"
    b.shot("monitoring")


def feed(b):
    b.click('a[data-nav="signals"]')
    b.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#feed li")) == 3, "the feed does not show the 3 signals")
    items = b.driver.find_elements(By.CSS_SELECTOR, "#feed li")
    assert all(i.get_attribute("data-source") == CONNECTOR for i in items)
    links = [i.find_element(By.CSS_SELECTOR, "a").get_attribute("href") for i in items]
    assert sorted(links) == [f"https://github.com/octocat/Hello-World/issues/{n}" for n in (101, 102, 103)], links
    assert "#103 Browser test: typo fixed" in items[0].text, "the newest signal is not first"
    b.text_of("#feed-status", r"^3 shown of 3 loaded")
    Select(b.find("#f-priority")).select_by_value("high")
    b.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#feed li")) == 1, "the priority filter did not narrow the feed")
    assert "#101" in b.find("#feed li").text
    Select(b.find("#f-priority")).select_by_value("")
    b.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#feed li")) == 3, "clearing the filter did not restore the feed")
    b.shot("signals")


WEBHOOK_SECRET = "browser-test-webhook-secret"


def deliver(connector, event, fixture, edit):
    """Posts a published GitHub payload (tests/fixtures/<fixture>, changed by `edit`) to the
    project's webhook, signed as GitHub signs it."""
    import hashlib
    import hmac
    with open(os.path.join("tests/fixtures", fixture), encoding="utf-8") as f:
        payload = json.load(f)
    edit(payload)
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{BASE}/webhooks/{connector}/{PROJECT}", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": f"browser-{connector}",
        "X-Hub-Signature-256": signature})
    with urllib.request.urlopen(request) as response:
        assert response.status in (200, 202), response.status


def context_packet(b):
    """A pull request and a CI build naming PROJ-123 (the published fixtures with the PR's title
    and branch and the run's branch changed to name it): the key shows on both signals in the
    feed, and clicking it opens the packet, grouped, with source links."""
    for connector in ("github-prs", "github-actions"):
        api("POST", f"projects/{PROJECT}/connectors/{connector}",
            {"config": {}, "credentials": {"token": FAKE_TOKEN, "webhookSecret": WEBHOOK_SECRET}})

    def pr(p):
        p["pull_request"]["title"] = "PROJ-123 " + p["pull_request"]["title"]
        p["pull_request"]["head"]["ref"] = "PROJ-123-readme"

    def run(p):
        p["workflow_run"]["head_branch"] = "PROJ-123-readme"

    deliver("github-prs", "pull_request", "github-prs/pull_request.opened.json", pr)
    deliver("github-actions", "workflow_run", "github-actions/workflow_run.completed.json", run)
    b.click('a[data-nav="signals"]')
    b.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#feed a.ref")) >= 2, "the feed shows no PROJ-123 keys")
    b.click("#feed a.ref[href='#/context/PROJ-123']")
    b.until(lambda d: d.current_url.endswith("#/context/PROJ-123"), "clicking the key did not open its packet")
    b.text_of("h1", r"^Context of PROJ-123$")
    b.text_of("#ctx-code_changes h2", r"^Code changes \(1\)$")
    b.text_of("#ctx-builds h2", r"^Builds \(1\)$")
    links = {s: b.find(f"#ctx-{s} li p a").get_attribute("href") for s in ("code_changes", "builds")}
    assert links == {"code_changes": "https://github.com/Codertocat/Hello-World/pull/2",
                     "builds": "https://github.com/octo-org/octo-repo/actions/runs/289782451"}, links
    b.text_of("#ctx-item", r"No tracker item")
    b.text_of("#ctx-people", r"Codertocat \(2\)")
    b.shot("context")
    # The later steps expect github-issues to be the project's only instance.
    for connector in ("github-prs", "github-actions"):
        api("DELETE", f"projects/{PROJECT}/connectors/{connector}")


FAST = "browser-test-fast-issues"


def fast_instance():
    """github-issues as a custom connector polled every second, connected to the fake: the control
    that shows polling happens at all, so that its stopping on disable means something."""
    with open("descriptors/github-issues.json", encoding="utf-8") as f:
        descriptor = json.load(f)
    descriptor.pop("$schema", None)
    descriptor.pop("examples", None)
    descriptor["id"], descriptor["name"] = FAST, "Fast Issues"
    descriptor["ingestion"]["intervalSeconds"] = 1
    api("POST", "connectors", descriptor)
    api("POST", f"projects/{PROJECT}/connectors/{FAST}", {
        "config": {"baseUrl": FAKE_URL, "owner": "octocat", "repo": "Hello-World"},
        "credentials": {"token": FAKE_TOKEN}, "enabled": True})


def disable_and_disconnect(b):
    b.click('a[data-nav="catalogue"]')
    card = b.find(f'#connectors li[data-id="{CONNECTOR}"]')
    assert card.find_element(By.CSS_SELECTOR, ".status").text == "Connected"

    # Enabled, the fast instance is polled again and again ...
    fast_instance()
    start = len(fake_requests("issues"))
    b.until(lambda d: len(fake_requests("issues")) >= start + 3, "the enabled fast instance was not polled every second")
    # ... disabled from its page, it is not polled any more.
    b.driver.get(f"{BASE}/#/instance/{FAST}")
    assert b.checked("#enabled")
    b.click('label[for="enabled"]')
    b.text_of("#monitor-result", r"Disabled: no polling")
    b.text_of("#health-status", r"^Health: disabled$")
    assert api("GET", f"projects/{PROJECT}/connectors/{FAST}")["enabled"] is False
    time.sleep(1.5)  # a poll already under way when the toggle was clicked may still finish
    assert_no_new_polls(4, len(fake_requests("issues")))
    api("DELETE", f"projects/{PROJECT}/connectors/{FAST}")
    api("DELETE", f"connectors/{FAST}")

    # The same toggle on github-issues, then Disconnect with confirmation.
    b.driver.get(f"{BASE}/#/")
    b.click('a[aria-label="Manage GitHub Issues"]')
    assert b.checked("#enabled")
    b.click('label[for="enabled"]')
    b.text_of("#monitor-result", r"Disabled: no polling")
    assert api("GET", f"projects/{PROJECT}/connectors/{CONNECTOR}")["enabled"] is False

    b.click("#disconnect")
    b.visible("dialog[open]")
    b.click("dialog[open] button.danger")
    b.until(lambda d: urlsplit(d.current_url).fragment == "/", "Disconnect did not go back to the catalogue")
    card = b.find(f'#connectors li[data-id="{CONNECTOR}"]')
    b.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#connectors li[data-id="{CONNECTOR}"] .status').text == "Not configured",
            "the catalogue still shows the instance after Disconnect")
    assert api("GET", f"projects/{PROJECT}/connectors")["instances"] == []


def custom_examples(b):
    """A pasted descriptor's inline examples run in the page: one passes, one shows its pointer."""
    with open("descriptors/github-prs.json", encoding="utf-8") as f:
        descriptor = json.load(f)
    with open("tests/fixtures/github-prs/pull_request.opened.json", encoding="utf-8") as f:
        opened = json.load(f)
    descriptor["examples"] = [
        {"name": "opened", "payload": opened, "headers": {"X-GitHub-Event": "pull_request"},
         "expect": {"signals": [{"signalType": "pr_opened"}]}},
        {"name": "opened, expected as merged", "payload": opened, "headers": {"X-GitHub-Event": "pull_request"},
         "expect": {"signals": [{"signalType": "pr_merged"}]}},
    ]
    b.click('a[data-nav="custom"]')
    area = b.visible("#descriptor")
    b.driver.execute_script("arguments[0].value = arguments[1]", area, json.dumps(descriptor, indent=2))
    b.click("#run-examples")
    b.text_of("#examples-result", r"2 example\(s\): 1 passed, 1 failed")
    text = b.find("#examples-result").text
    assert "/examples/1/expect/signals/0/signalType" in text and '"pr_opened"' in text, text


def custom(b):
    with open("descriptors/github-issues.json", encoding="utf-8") as f:
        descriptor = json.load(f)
    descriptor.pop("$schema")
    descriptor.pop("examples")
    descriptor["id"] = "browser-test-custom"
    descriptor["ingestion"]["intervalSeconds"] = 0  # mistake 1
    descriptor["fieldMapping"]["idPath"] = "$[oops"  # mistake 2
    b.click('a[data-nav="custom"]')
    area = b.visible("#descriptor")
    b.driver.execute_script("arguments[0].value = arguments[1]", area, json.dumps(descriptor, indent=2))
    b.click("#register")
    b.text_of("#custom-result", r"The descriptor has problems")
    pointers = [c.text for c in b.driver.find_elements(By.CSS_SELECTOR, "#custom-result .problems li code")]
    assert pointers == ["/ingestion/intervalSeconds", "/fieldMapping/idPath"], pointers
    assert "must be greater than 0" in b.find("#custom-result").text
    ids = [c["id"] for c in api("GET", "connectors")["connectors"]]
    assert "browser-test-custom" not in ids
    b.shot("custom")


def status_of(path, token):
    """The HTTP status of a GET with `token`."""
    try:
        api("GET", path, token=token)
        return 200
    except urllib.error.HTTPError as e:
        return e.code


def oidc_sign_in(b):
    """Signed out, the page offers the issuer; its button runs code + PKCE and comes back signed in."""
    b.driver.execute_script("sessionStorage.clear()")
    b.driver.get(f"{BASE}/#/signals")
    button = b.visible("#oidc-sign-in")
    assert button.text == f"Sign in with {urlsplit(OIDC_ISSUER).netloc}", button.text
    b.visible("#token")  # serve also offers the admin token
    b.shot("signin")
    b.click("#oidc-sign-in")
    b.until(lambda d: d.current_url.startswith(f"{OIDC_ISSUER}/authorize?"), "the button did not go to the issuer")
    query = dict(p.split("=", 1) for p in urlsplit(b.driver.current_url).query.split("&"))
    assert query["code_challenge_method"] == "S256" and query["client_id"] == "switchboard-dashboard", query
    b.click("#continue")
    b.until(lambda d: d.current_url == f"{BASE}/#/signals", "the sign-in did not come back to the page it left")
    b.find("#feed-status")
    token = b.driver.execute_script("return sessionStorage.getItem('switchboard.token')")
    assert token and token.count(".") == 2 and token != ADMIN, "the page did not keep the ID token"
    assert b.driver.execute_script("return sessionStorage.getItem('switchboard.oidc.pending')") is None
    with open(OIDC_LOG, encoding="utf-8") as log:
        exchanges = [json.loads(line) for line in log if line.strip()]
    assert exchanges == [{"token": "issued", "reason": None}], exchanges
    # The API takes the ID token as the user it names: project demo only, no admin rights.
    assert status_of(f"projects/{PROJECT}/signals", token) == 200
    assert status_of("projects/another/signals", token) in (403, 404)
    assert status_of(f"projects/{PROJECT}/signals", token[:-4] + "AAAA") == 401


def accessibility(b):
    assert not b.findings, "accessibility and layout problems:\n" + "\n".join(b.findings)


def check_console(b):
    b.collect_console()
    unexpected = [e for e in b.console if e["level"] == "SEVERE"
                  and not any(p.search(e["message"]) for p in EXPECTED_SEVERE)]
    assert not unexpected, "console errors:\n" + "\n".join(e["message"] for e in unexpected)
    expected = [e for e in b.console if e["level"] == "SEVERE"]
    assert len(expected) == 1, f"expected exactly the custom descriptor's 422, got {expected}"


def main():
    started = time.monotonic()
    total = len(api("GET", "connectors")["connectors"])
    b = Browser()
    steps = [("catalogue", lambda: catalogue(b, total)), ("setup", lambda: setup(b)),
             ("monitoring", lambda: monitoring(b)), ("signals", lambda: feed(b)),
             ("context packet", lambda: context_packet(b)),
             ("disable and disconnect", lambda: disable_and_disconnect(b)), ("custom examples", lambda: custom_examples(b)),
             ("custom", lambda: custom(b)), ("oidc sign-in", lambda: oidc_sign_in(b)),
             ("accessibility", lambda: accessibility(b)), ("console", lambda: check_console(b))]
    failed = False
    try:
        for name, step in steps:
            t = time.monotonic()
            try:
                step()
            except Exception:
                failed = True
                print(f"FAIL {name}", file=sys.stderr)
                traceback.print_exc()
                try:
                    os.makedirs(SHOTS, exist_ok=True)
                    b.driver.save_screenshot(os.path.join(os.path.dirname(FAKE_LOG), "failure.png"))
                    b.collect_console()
                    for e in b.console:
                        print(f"console {e['level']}: {e['message']}", file=sys.stderr)
                except Exception:
                    pass
                break
            b.collect_console()
            print(f"ok   {name} ({time.monotonic() - t:.1f} s)")
    finally:
        b.driver.quit()
    print(f"{'FAILED' if failed else 'passed'} in {time.monotonic() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
