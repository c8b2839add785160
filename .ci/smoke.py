"""Wait for a served KER Ops, then check health, readiness, the landing page, the docs and
their assets (served by the service itself), and a demo login."""

import json
import sys
import time
import urllib.request

base = sys.argv[1]


def get(path: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(base + path, timeout=5) as response:
        return response.status, response.read()


deadline = time.time() + 300
while True:
    try:
        status, _ = get("/api/v1/health")
        if status == 200:
            break
    except OSError:
        pass
    if time.time() > deadline:
        raise SystemExit("the service did not come up")
    time.sleep(1)

assert get("/api/v1/ready")[0] == 200
assert b"KER Ops" in get("/")[1]
docs = (("/docs", "/static/swagger-ui-bundle.js"), ("/redoc", "/static/redoc.standalone.js"))
for page, asset in docs:
    status, html = get(page)
    assert status == 200 and asset.encode() in html, page
    assert get(asset)[0] == 200, asset
request = urllib.request.Request(
    base + "/api/v1/auth/login",
    data=json.dumps({"email": "owner@acme.demo", "password": "Demo-Maint-2026"}).encode(),
    headers={"Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=10) as response:
    token = json.loads(response.read())["access_token"]
me = urllib.request.Request(base + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
with urllib.request.urlopen(me, timeout=5) as response:
    assert json.loads(response.read())["email"] == "owner@acme.demo"
print("smoke ok")
