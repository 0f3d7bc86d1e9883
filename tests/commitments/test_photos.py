"""活动照片: photos of an activity in the attachments storage, read by whoever reads the activity."""

from __future__ import annotations

from tests.commitments.helpers import CA, GW, Clock, activity, published
from tests.conftest import auth

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def test_photos_of_an_activity_are_uploaded_listed_and_downloaded_in_scope(
    client, settings, tmp_path, monkeypatch
):
    settings.attachments_dir = tmp_path
    Clock(monkeypatch).at("2026-05-01 12:00")
    monthly = (await published(client))["items"][0]["id"]
    done = await activity(client, [monthly], "2026-04-10T09:00:00+08:00")
    base = f"/api/v1/commitment-activities/{done['id']}/photos"

    r = await client.post(base, files={"file": ("x.png", b"MZ\x90\x00evil", "image/png")}, headers=GW)
    assert r.status_code == 415
    r = await client.post(base, files={"file": ("清洁日.png", PNG, "application/octet-stream")}, headers=GW)
    assert r.status_code == 201, r.text
    photo = r.json()
    assert (photo["content_type"], photo["size"], photo["activity_id"]) == ("image/png", len(PNG), done["id"])
    assert r.headers["Location"] == f"{base}/{photo['id']}"
    assert (tmp_path / done["id"] / photo["id"]).read_bytes() == PNG

    # the community's staff read it (a worker of another grid of the community too); others do not find it
    for reader in (CA, auth("grid_worker_g2"), auth("viewer")):
        assert [p["id"] for p in (await client.get(base, headers=reader)).json()] == [photo["id"]]
    download = await client.get(f"{base}/{photo['id']}", headers=auth("grid_worker_g2"))
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    for outsider in (auth("grid_worker_g3"), auth("other_admin")):
        assert (await client.get(base, headers=outsider)).status_code == 404
        assert (await client.get(f"{base}/{photo['id']}", headers=outsider)).status_code == 404
        r = await client.post(base, files={"file": ("a.png", PNG)}, headers=outsider)
        assert r.status_code == 404
    assert (await client.get(f"{base}/{done['id']}", headers=GW)).status_code == 404  # not a photo of it
    assert len(list((tmp_path / done["id"]).iterdir())) == 1


async def test_a_photo_past_the_upload_limit_is_413_and_leaves_nothing(client, settings, tmp_path, monkeypatch):
    settings.attachments_dir = tmp_path
    settings.max_upload_bytes = 1024
    Clock(monkeypatch).at("2026-05-01 12:00")
    monthly = (await published(client))["items"][0]["id"]
    done = await activity(client, [monthly], "2026-04-10T09:00:00+08:00")
    base = f"/api/v1/commitment-activities/{done['id']}/photos"
    r = await client.post(base, files={"file": ("big.png", PNG + b"\x00" * 4096)}, headers=GW)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert (await client.get(base, headers=GW)).json() == []
    assert not (tmp_path / done["id"]).exists() or not list((tmp_path / done["id"]).iterdir())
