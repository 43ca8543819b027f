"""Notifications (api.md §2.10, scheduling.md §9 N1-N4) on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio

H = 3600.0


async def notify(res: Any, admin: Any, title: str, **fields: Any) -> dict[str, Any]:
    r = await res.post("/api/notifications", admin, {"title": title, **fields})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def titles(res: Any, who: Any, **params: Any) -> list[str]:
    r = await res.get("/api/notifications", who, **params)
    assert r.status_code == 200, r.text
    return [n["title"] for n in r.json()]


async def test_broadcast_and_targets(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice, bob, carol = [await res.user() for _ in range(3)]
    everyone = await notify(res, admin, "maintenance", description="Fridge warm-up on Friday", severity="warning")
    assert everyone["broadcast"] is True and everyone["severity"] == "warning" and everyone["dismissed"] is False
    assert everyone["target_users"] == [] and everyone["dismissed_count"] == 0 and everyone["created_by"] == admin.id
    pair = await notify(res, admin, "for two", target_users=[alice.id, bob.id, alice.id])
    assert pair["broadcast"] is False and sorted(pair["target_users"]) == sorted([alice.id, bob.id])
    # a user's view: no management fields
    r = await res.get("/api/notifications", alice)
    assert r.headers["X-Total-Count"] == "2"
    for item in r.json():
        assert set(item) == {
            "id",
            "title",
            "description",
            "severity",
            "broadcast",
            "start_time",
            "end_time",
            "dismissed",
            "created",
            "updated",
        }
    assert await titles(res, alice) == ["for two", "maintenance"]
    assert await titles(res, bob) == ["for two", "maintenance"]
    assert await titles(res, carol) == ["maintenance"]
    assert await titles(res, admin) == ["maintenance"]  # a superuser's own inbox follows the same rule
    # not addressed to carol: 404 on read and on dismissal
    res.error(await res.get(f"/api/notifications/{pair['id']}", carol), 404, "not_found")
    res.error(await res.post(f"/api/notifications/{pair['id']}/dismiss", carol), 404, "not_found")
    assert (await res.get(f"/api/notifications/{pair['id']}", alice)).json()["title"] == "for two"
    # users do not manage notifications
    res.error(await res.post("/api/notifications", alice, {"title": "hi"}), 403, "forbidden")
    res.error(await res.patch(f"/api/notifications/{pair['id']}", alice, {"title": "x"}), 403, "forbidden")
    res.error(await res.delete(f"/api/notifications/{pair['id']}", alice), 403, "forbidden")
    res.error(await res.get("/api/notifications", alice, all="true"), 400, "invalid_request")
    # validation
    for body, code in (
        ({"title": ""}, "invalid_request"),
        ({"title": "x" * 201}, "invalid_request"),
        ({"title": "x", "severity": "fatal"}, "invalid_request"),
        ({"title": "x", "colour": "red"}, "unknown_field"),
        ({"title": "x", "target_users": ["nosuchuser00000"]}, "unknown_user"),
        ({"title": "x", "start_time": res.ts(H), "end_time": res.ts(0)}, "invalid_interval"),
        ({"title": "x", "start_time": "2026-01-01T00:00:00"}, "invalid_request"),
    ):
        res.error(await res.post("/api/notifications", admin, body), 400, code)
    assert await res.count(res.t.notifications) == 2


async def test_dismissals_are_per_user(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice, bob = [await res.user() for _ in range(2)]
    note = await notify(res, admin, "news")
    path = f"/api/notifications/{note['id']}"
    r = await res.post(f"{path}/dismiss", alice)
    assert r.status_code == 200 and r.json() == {"status": "dismissed"}
    assert (await res.post(f"{path}/dismiss", alice)).json() == {"status": "dismissed"}  # idempotent
    assert await titles(res, alice) == []
    assert await titles(res, bob) == ["news"]  # one user's dismissal never hides it from another
    r = await res.get("/api/notifications", alice, include_dismissed="true")
    assert [(n["title"], n["dismissed"]) for n in r.json()] == [("news", True)]
    assert (await res.get(path, alice)).json()["dismissed"] is True  # still readable by who dismissed it
    assert (await res.get(path, bob)).json()["dismissed"] is False
    assert (await res.get(path, admin)).json()["dismissed_count"] == 1
    # editing does not reset dismissals
    r = await res.patch(path, admin, {"title": "news (updated)", "severity": "critical"})
    assert r.status_code == 200 and r.json()["severity"] == "critical" and r.json()["dismissed_count"] == 1
    assert await titles(res, alice) == []
    assert await titles(res, bob) == ["news (updated)"]
    res.error(await res.post("/api/notifications/nosuchnotice000/dismiss", alice), 404, "not_found")

    # dismiss-all: every notification visible now, for the caller only
    await notify(res, admin, "second")
    await notify(res, admin, "later", start_time=res.ts(H))
    r = await res.post("/api/notifications/dismiss-all", bob)
    assert r.status_code == 200 and r.json() == {"status": "dismissed", "count": 2}
    assert (await res.post("/api/notifications/dismiss-all", bob)).json() == {"status": "dismissed", "count": 0}
    assert await titles(res, bob) == []
    assert await titles(res, alice) == ["second"]
    assert await titles(res, bob, include_dismissed="true") == ["second", "news (updated)"]


async def test_windows_and_management(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice, bob = [await res.user() for _ in range(2)]
    await notify(res, admin, "now", start_time=res.ts(-H), end_time=res.ts(H))
    future = await notify(res, admin, "future", start_time=res.ts(H))
    past = await notify(res, admin, "past", end_time=res.ts(-60))
    assert await titles(res, alice) == ["now"]
    res.error(await res.get(f"/api/notifications/{future['id']}", alice), 404, "not_found")
    res.error(await res.get(f"/api/notifications/{past['id']}", alice), 404, "not_found")
    # dismissal does not check the window
    assert (await res.post(f"/api/notifications/{future['id']}/dismiss", alice)).status_code == 200
    # the management view: every notification, any window, with targets and counts
    r = await res.get("/api/notifications", admin, all="true", sort="created")
    assert [n["title"] for n in r.json()] == ["now", "future", "past"]
    assert [n["dismissed_count"] for n in r.json()] == [0, 1, 0]
    res.error(await res.get("/api/notifications", admin, sort="title"), 400, "invalid_sort")
    res.error(await res.get("/api/notifications", admin, colour="red"), 400, "invalid_request")
    # opening the window makes it visible; targets replace the whole set
    path = f"/api/notifications/{past['id']}"
    r = await res.patch(path, admin, {"end_time": None, "target_users": [bob.id]})
    assert r.status_code == 200 and r.json()["end_time"] is None and r.json()["target_users"] == [bob.id]
    assert await titles(res, bob) == ["past", "now"]
    assert await titles(res, alice) == ["now"]
    r = await res.patch(path, admin, {"target_users": [alice.id]})
    assert r.json()["target_users"] == [alice.id]
    assert await titles(res, bob) == ["now"]
    assert await titles(res, alice) == ["past", "now"]
    r = await res.patch(path, admin, {"target_users": []})
    assert r.json()["broadcast"] is True
    res.error(
        await res.patch(path, admin, {"start_time": res.ts(2 * H), "end_time": res.ts(H)}), 400, "invalid_interval"
    )
    res.error(await res.patch(path, admin, {"target_users": ["nosuchuser00000"]}), 400, "unknown_user")
    res.error(await res.patch("/api/notifications/nosuchnotice000", admin, {"title": "x"}), 404, "not_found")
    # delete cascades to targets and dismissals
    assert (await res.delete(f"/api/notifications/{future['id']}", admin)).status_code == 204
    res.error(await res.get(f"/api/notifications/{future['id']}", admin), 404, "not_found")
    res.error(await res.delete(f"/api/notifications/{future['id']}", admin), 404, "not_found")
    assert await res.count(res.t.notification_dismissals) == 0


async def test_events_reach_the_audience_only(res: Any) -> None:
    admin = await res.user(role="superuser")
    alice, bob = [await res.user() for _ in range(2)]
    broadcast = await notify(res, admin, "all")
    targeted = await notify(res, admin, "alice only", target_users=[alice.id])
    await res.patch(f"/api/notifications/{targeted['id']}", admin, {"title": "still alice"})
    await res.delete(f"/api/notifications/{targeted['id']}", admin)

    def seen(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(e["type"], e["data"]["id"]) for e in events]

    assert seen(await res.events(alice, "notification.*")) == [
        ("notification.created", broadcast["id"]),
        ("notification.created", targeted["id"]),
        ("notification.updated", targeted["id"]),
        ("notification.deleted", targeted["id"]),
    ]
    assert seen(await res.events(bob, "notification.*")) == [("notification.created", broadcast["id"])]
    # a dismissal is pushed to the dismissing user's other pages, not to anyone else
    await res.post(f"/api/notifications/{broadcast['id']}/dismiss", bob)
    assert seen(await res.events(bob, "notification.updated")) == [("notification.updated", broadcast["id"])]
    assert seen(await res.events(alice, "notification.updated")) == [("notification.updated", targeted["id"])]
