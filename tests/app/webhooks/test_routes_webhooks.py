"""/api/v1/webhooks: admin token required, input named on error, the secret never returned."""

from __future__ import annotations

import pytest


def test_subscribing_needs_an_admin_token(client, auth, auth_admin) -> None:
    body = {"url": "https://hooks.slack.com/services/T/B/X", "events": ["job.finished"], "secret": "x" * 16}
    assert client.post("/api/v1/webhooks", json=body).status_code == 401
    forbidden = client.post("/api/v1/webhooks", json=body, headers=auth)
    assert forbidden.status_code == 403 and "admin" in forbidden.json()["detail"]
    created = client.post("/api/v1/webhooks", json=body, headers=auth_admin)
    assert created.status_code == 201
    hook = created.json()
    assert hook["events"] == ["job.finished"] and "secret" not in hook
    listed = client.get("/api/v1/webhooks", headers=auth_admin).json()
    assert listed["count"] == 1 and "secret" not in listed["data"][0]
    assert client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=auth_admin).json() == {"data": [],
                                                                                                 "count": 0}
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=auth_admin).status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=auth_admin).status_code == 404


@pytest.mark.parametrize(("change", "field"), [({"url": "ftp://x/y"}, "url"), ({"url": "not a url"}, "url"),
                                               ({"events": ["job.started"]}, "events"), ({"events": []}, "events"),
                                               ({"secret": "short"}, "secret"), ({"extra": 1}, "extra")])
def test_bad_subscriptions_name_the_field(client, auth_admin, change, field) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "events": ["job.failed"], "secret": "y" * 16, **change}
    response = client.post("/api/v1/webhooks", json=body, headers=auth_admin)
    assert response.status_code == 422 and field in response.json()["detail"]
