"""fetch booru / fetch urls against a local fake Moebooru server: paging, rate limit, retries, md5,
opt-outs, resume, safe names, and provenance carried by build into sources.parquet."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest
from tests.booru_server import FakeBooru
from tests.helpers import scene, with_figure, write_video

from toonset import open_dataset
from toonset.ingest.booru import BooruFetcher, MoebooruClient
from toonset.ingest.fetchlog import read_rejects
from toonset.ingest.http import HttpClient, TokenBucket
from toonset.ingest.optout import parse_optout
from toonset.ingest.urls import fetch_url_list
from toonset.run import build_dataset

RATE = 25.0  # requests/s in these tests (the default is 1)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> list[bytes]:
    d = tmp_path_factory.mktemp("media")
    out = []
    for seed in (1, 2, 3):
        bg = scene(seed)
        out.append(write_video(d / f"v{seed}.mp4", [with_figure(bg, i // 2) for i in range(16)]).read_bytes())
    return out


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _post(pid, data: bytes, tags: str, ext: str = "mp4", md5: str | None = None) -> dict:
    md5 = md5 or _md5(data)
    return {"id": pid, "tags": tags, "md5": md5, "file_ext": ext, "file_url": f"/data/{md5}.{ext}",
            "source": f"https://example.org/src/{pid}", "rating": "s", "created_at": 1674042317}


def _client(retries: int = 2) -> HttpClient:
    return HttpClient(rate=RATE, burst=1, retries=retries, backoff=0.01, timeout=10)


def _site(booru: FakeBooru, media: list[bytes]) -> None:
    a, b, c = media
    booru.posts = [
        _post(101, a, "animated artist_a show_x effects"),
        _post(102, b, "animated artist_b show_y"),
        _post(103, c, "animated artist_c show_y"),  # opted out (artist)
        _post(104, a, "animated artist_a", md5="0" * 32),  # md5 mismatch
        _post(105, a, "production_materials", ext="png"),  # not a video
        _post(106, c, "animated artist_b", md5="1" * 32),  # 404
        _post(107, c, "animated artist_b show_x"),  # 503 once, then fine
        {"id": "../../evil", "md5": "2" * 32, "file_url": "/data/evil.mp4", "tags": "x"},  # bad id
    ]
    for p in booru.posts:
        if p["id"] not in (104, 106) and isinstance(p["id"], int):
            booru.files[f"/data/{p['md5']}.{p['file_ext']}"] = {101: a, 102: b, 103: c, 105: a, 107: c}[p["id"]]
    booru.files[f"/data/{'0' * 32}.mp4"] = b  # the wrong bytes for post 104
    booru.fail[f"/data/{_md5(c)}.mp4"] = [503]
    booru.tags = {"animated": 0, "effects": 0, "production_materials": 5, "artist_a": 1, "artist_b": 1,
                  "artist_c": 1, "show_x": 3, "show_y": 3}


def test_token_bucket_schedule():
    now = [0.0]
    slept = []

    def sleep(s):
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(1.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        bucket.acquire()
    assert slept == pytest.approx([1.0] * 4)  # two at once, then one per second
    assert bucket.waited == pytest.approx(4.0)


def test_fetch_booru_end_to_end(tmp_path, media):
    out = tmp_path / "downloads"
    optout = parse_optout("# people who asked\nartist:artist_c\npost:999\n")
    with FakeBooru() as booru:
        _site(booru, media)
        summary = BooruFetcher(booru.url, "animated", out, _client(), optout, page_size=3).run()
        log = list(booru.log)
        opted_out_file = f"/data/{_md5(media[2])}.mp4"
    assert summary.finished and summary.pages == 3 and summary.posts_seen == 8
    assert summary.downloaded == 3
    assert summary.rejected == {"opt_out": 1, "md5_mismatch": 1, "not_video": 1, "http_404": 1, "bad_post": 1}
    reasons = sorted(r["reason"] for r in read_rejects(out))
    assert reasons == ["bad_post", "http_404", "md5_mismatch", "not_video", "opt_out"]
    mismatch = next(r for r in read_rejects(out) if r["reason"] == "md5_mismatch")
    assert mismatch["post_id"] == 104 and mismatch["got"] == _md5(media[1])
    # the opted-out post's file is the same bytes as post 107's: it was requested for 107 only (503 + retry)
    assert [p for _, p in log if p == opted_out_file] == [opted_out_file, opted_out_file]
    names = sorted(p.name for p in out.iterdir())
    assert names == ["101.mp4", "101.mp4.toonset.json", "102.mp4", "102.mp4.toonset.json", "107.mp4",
                     "107.mp4.toonset.json", "fetch-state.json", "rejects.jsonl", "tag-types.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["downloads"]  # nothing written outside
    side = json.loads((out / "101.mp4.toonset.json").read_text())
    assert side["tags"]["artist"] == ["artist_a"] and side["tags"]["copyright"] == ["show_x"]
    assert side["md5"] == _md5(media[0]) and side["source_url"] == "https://example.org/src/101"
    assert side["media_url"] == f"{booru.url}/data/{_md5(media[0])}.mp4"
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(log)]
    assert min(gaps) >= 1.0 / RATE * 0.8  # the token bucket spaced every request


def test_fetch_booru_resumes_where_it_stopped(tmp_path, media):
    out = tmp_path / "downloads"
    with FakeBooru() as booru:
        _site(booru, media)
        first = BooruFetcher(booru.url, "animated", out, _client(), page_size=3, max_posts=4).run()
        assert not first.finished and first.pages == 1
        state = json.loads((out / "fetch-state.json").read_text())
        assert next(iter(state["queries"].values()))["pages_done"] == 1
        second = BooruFetcher(booru.url, "animated", out, _client(), page_size=3).run()
        third = BooruFetcher(booru.url, "animated", out, _client(), page_size=3).run()
        pages = booru.paths("/post.json")
    assert second.finished and second.pages == 2
    # page 1 was complete and is not asked for again; page 2, where the first run stopped, is
    assert [p.split("page=")[1].split("&")[0] for p in pages] == ["1", "2", "2", "3"]
    assert third.downloaded == 0 and third.posts_seen == 0
    assert sorted(p.name for p in out.glob("*.mp4")) == ["101.mp4", "102.mp4", "103.mp4", "107.mp4"]


def test_build_carries_provenance(tmp_path, media):
    out = tmp_path / "downloads"
    with FakeBooru() as booru:
        _site(booru, media)
        BooruFetcher(booru.url, "animated", out, _client(), page_size=10).run()
    build_dataset([str(out)], tmp_path / "ds", workers=1, media=False)
    src = open_dataset(tmp_path / "ds").df("sources").set_index("booru_post_id")
    assert sorted(src.index.tolist()) == [101, 102, 103, 107]
    assert src.loc[101, "artist"] == "artist_a" and src.loc[101, "copyright"] == "show_x"
    assert src.loc[101, "series"] == "show_x" and src.loc[102, "series"] == "show_y"
    assert src.loc[107, "rating"] == "s" and src.loc[107, "source_url"] == "https://example.org/src/107"
    assert json.loads(src.loc[101, "provenance"])["tag_string"] == "animated artist_a show_x effects"
    assert src.loc[101, "media_url"].endswith(f"/data/{_md5(media[0])}.mp4")


def test_recorded_sakugabooru_responses(tmp_path, media, realdata):
    """The real API payloads (ISO and epoch times, gif posts without file_ext) served from 127.0.0.1."""
    api = realdata / "sakugabooru-api-json"
    text = (api / "poolShowDataResponse.json").read_text().replace("https://www.sakugabooru.com", "{SITE}")
    single = (api / "postDataResponse.json").read_text().replace("https://www.sakugabooru.com", "{SITE}")
    out = tmp_path / "downloads"
    with FakeBooru() as booru:
        posts = json.loads(text.replace("{SITE}", booru.url))["posts"] + json.loads(single.replace("{SITE}", booru.url))
        good = next(p for p in posts if p["id"] == 29421)
        good["md5"] = _md5(media[0])  # the one post whose bytes we can serve
        booru.posts = posts
        for p in posts:
            booru.files[p["file_url"].replace(booru.url, "")] = media[0] if p is good else media[1]
        booru.tag_json = json.loads((api / "tagDataResponse.json").read_text())
        summary = BooruFetcher(booru.url, "animated", out, _client(), parse_optout("artist:philips_lacanlale"),
                               page_size=100).run()
        client = MoebooruClient(booru.url, _client())
        kinds = (client.tag_type("00:08"), client.tag_type("(???)"), client.tag_type("nothing_like_it"))
    assert summary.downloaded == 1 and (out / "29421.mp4").exists()
    by_post = {r["post_id"]: r["reason"] for r in read_rejects(out)}
    assert by_post == {22733: "opt_out", 135811: "md5_mismatch", 135820: "md5_mismatch",
                       135822: "md5_mismatch", 216284: "not_video"}
    assert kinds == ("copyright", "general", "unknown")
    side = json.loads((out / "29421.mp4.toonset.json").read_text())
    assert side["post_id"] == 29421 and side["created_at"] == "2017-01-05T10:11:41.217Z"


def test_fetch_url_list(tmp_path, media):
    a, b, _ = media
    out = tmp_path / "downloads"
    with FakeBooru() as site:
        site.files.update({"/v/a.mp4": a, "/v/b.mp4": b, "/v/stream": a, "/v/page.html": b"<html>"})
        site.content_types["/v/page.html"] = "text/html"
        lst = tmp_path / "urls.txt"
        lst.write_text(f"# clips\n{site.url}/v/a.mp4 {_md5(a)}\n{site.url}/v/b.mp4 {'f' * 32}\n"
                       f"{site.url}/v/missing.mp4\n{site.url}/v/stream  # no extension\n{site.url}/v/page.html\n")
        summary = fetch_url_list(lst, out, _client())
        again = fetch_url_list(lst, out, _client())
    assert summary.downloaded == 2
    assert summary.rejected == {"md5_mismatch": 1, "http_404": 1, "not_video": 1}
    videos = sorted(p.name for p in out.glob("*.mp4"))
    assert len(videos) == 2 and any(v.endswith("-a.mp4") for v in videos) and any("-stream" in v for v in videos)
    assert all(json.loads(Path(str(out / v) + ".toonset.json").read_text())["kind"] == "url" for v in videos)
    assert again.skipped_existing == 2 and again.downloaded == 0
    assert not list(out.glob(".*"))  # no temporary left behind
