"""cloudsubmit upload vs `aws s3 sync` on the same moto server and the same files.

1,000 small files + 20 x 50 MB: first upload, unchanged re-upload, and a teammate's copy of the
same files under another path (another machine: its own empty hash cache). The moto server runs
in its own process behind a WSGI counter, so requests and request-body bytes are counted the same
way for both tools. Each tool's peak RSS (whole process, from ``wait4``) is compared in the same run:
upload memory must stay bounded by a setting whatever the blob sizes (target: the first upload
<= 1.0x ``aws s3 sync``'s). Usage: python bench/bench_store_s3.py [--small 1000] [--big 20] [--big-mb 50]"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _benchlib import peak_rss

REPO = Path(__file__).resolve().parent.parent


def serve(port: int) -> None:
    """Moto's S3 app behind a counter: GET /__stats, POST /__reset."""
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import WSGIRequestHandler, make_server

    app = DomainDispatcherApplication(create_backend_app)
    fresh = {"requests": 0, "bytes_in": 0, "content_bytes_in": 0, "range_gets": 0, "range_bytes": 0, "by_method": {}}
    stats = json.loads(json.dumps(fresh))
    lock = threading.Lock()

    def counted(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/__stats":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(stats).encode()]
        if path == "/__reset":
            with lock:
                stats.update(json.loads(json.dumps(fresh)))
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        with lock:
            stats["requests"] += 1
            stats["bytes_in"] += int(environ.get("CONTENT_LENGTH") or 0)
            if "/cas/" in path or "/packs/" in path:  # file content, not index shards or manifests
                stats["content_bytes_in"] += int(environ.get("CONTENT_LENGTH") or 0)
            first, _, last = environ.get("HTTP_RANGE", "").partition("=")[2].partition("-")
            if first.isdigit() and last.isdigit():
                stats["range_gets"] += 1
                stats["range_bytes"] += int(last) - int(first) + 1
            m = environ.get("REQUEST_METHOD", "?")
            stats["by_method"][m] = stats["by_method"].get(m, 0) + 1
        return app(environ, start_response)

    class Quiet(WSGIRequestHandler):
        def log_request(self, *a, **k):
            pass

    make_server("127.0.0.1", port, counted, threaded=True, request_handler=Quiet).serve_forever()


def make_set(root: Path, small: int, big: int, big_mb: int) -> int:
    rng = random.Random(7)
    total = 0
    for i in range(small):
        p = root / "assets" / f"d{i % 20:02d}" / f"tex{i:04d}.tx"
        p.parent.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(rng.randint(1_000, 60_000))
        p.write_bytes(data)
        total += len(data)
    for i in range(big):
        p = root / "caches" / f"sim{i:02d}.bgeo"
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb") as f:
            for _ in range(big_mb):
                f.write(os.urandom(1024 * 1024))
        total += big_mb * 1024 * 1024
    return total


class Server:
    def __init__(self) -> None:
        sys.path.insert(0, str(REPO / "tests"))
        from support.s3server import _free_port

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port)])
        for _ in range(100):
            try:
                self.stats()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("moto server did not start")

    def tool_env(self) -> dict:
        """The environment both tools run in: this server as the endpoint, throwaway credentials."""
        return dict(os.environ, AWS_ENDPOINT_URL_S3=self.url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                    AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", PYTHONPATH=str(REPO),
                    CLOUDSUBMIT_USER_CONFIG=os.devnull)

    def client(self, *buckets: str):
        """A boto3 client of this server, with ``buckets`` created."""
        import boto3

        s3 = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        for b in buckets:
            s3.create_bucket(Bucket=b)
        return s3

    def stats(self) -> dict:
        return json.loads(urllib.request.urlopen(self.url + "/__stats", timeout=5).read())

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.url + "/__reset", method="POST"), timeout=5).read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def run(server: Server, cmd, env) -> dict:
    server.reset()
    wall, rss = peak_rss(cmd, env, str(REPO), ok_codes=(0,))
    s = server.stats()
    return {"wall_s": round(wall, 2), "requests": s["requests"], "bytes_in": s["bytes_in"], "by_method": s["by_method"],
            "peak_rss_mb": round(rss)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", type=int)
    ap.add_argument("--small", type=int, default=int(os.environ.get("BENCH_S3_SMALL", 1000)))
    ap.add_argument("--big", type=int, default=int(os.environ.get("BENCH_S3_BIG", 20)))
    ap.add_argument("--big-mb", type=int, default=int(os.environ.get("BENCH_S3_BIG_MB", 50)))
    ap.add_argument("--workdir", default=None, help="where the file set is written (default: a temp dir)")
    ap.add_argument("--cs-set", action="append", default=[], metavar="KEY=VALUE", help="config override for cloudsubmit")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="cs-bench-"))
    src, copy = work / "artist_a" / "shot010", work / "artist_b" / "shot010_copy"
    total = make_set(src, args.small, args.big, args.big_mb)
    shutil.copytree(src, copy)
    files = sorted(str(p) for p in src.rglob("*") if p.is_file())
    copies = sorted(str(p) for p in copy.rglob("*") if p.is_file())
    (work / "a.json").write_text(json.dumps({"files": files}))
    (work / "b.json").write_text(json.dumps({"files": copies}))
    server = Server()
    try:
        env = server.tool_env()
        server.client("cs-bench", "sync-bench")
        sets = [a for kv in args.cs_set for a in ("--set", kv)]
        cs = [sys.executable, "-m", "cloudsubmit", *sets, "upload", "--store", "s3://cs-bench/team", "--json", "--manifest"]
        a_env = dict(env, XDG_CACHE_HOME=str(work / "cache_a"))
        b_env = dict(env, XDG_CACHE_HOME=str(work / "cache_b"))
        aws = str(Path(sys.executable).with_name("aws"))
        results = {
            "files": len(files), "bytes": total,
            "cloudsubmit": {
                "first": run(server, cs + [str(work / "a.json")], a_env),
                "unchanged": run(server, cs + [str(work / "a.json")], a_env),
                "teammate_copy": run(server, cs + [str(work / "b.json")], b_env),
            },
            "aws_s3_sync": {
                "first": run(server, [aws, "s3", "sync", str(src), "s3://sync-bench/shot010"], env),
                "unchanged": run(server, [aws, "s3", "sync", str(src), "s3://sync-bench/shot010"], env),
                "teammate_copy": run(server, [aws, "s3", "sync", str(copy), "s3://sync-bench/shot010_copy"], env),
            },
        }
    finally:
        server.stop()
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))
    print(f"\n{'run':<16}{'tool':<14}{'wall s':>8}{'requests':>10}{'MB sent':>10}{'peak RSS MB':>13}")
    for run_name in ("first", "unchanged", "teammate_copy"):
        for tool in ("cloudsubmit", "aws_s3_sync"):
            r = results[tool][run_name]
            print(f"{run_name:<16}{tool:<14}{r['wall_s']:>8}{r['requests']:>10}{r['bytes_in'] / 1e6:>10.1f}"
                  f"{r['peak_rss_mb']:>13}")
    ours, peer = results["cloudsubmit"]["first"]["peak_rss_mb"], results["aws_s3_sync"]["first"]["peak_rss_mb"]
    print(f"first upload peak RSS: cloudsubmit {ours} MB, aws s3 sync {peer} MB: ratio {ours / peer:.2f}  "
          f"(target <= 1.00) {'OK' if ours <= peer else 'ABOVE'}")


if __name__ == "__main__":
    main()
