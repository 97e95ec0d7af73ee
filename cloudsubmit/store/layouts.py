"""The one place that chooses between the store's two layouts (``store.layout``).

``cas``: content-addressed blobs, downloaded into a session on the node (``materialise.py``).
``mirror``: path keys in a bucket the cloud nodes mount with s3fs, checked in place (``mirror.py``).
Stages and commands call :func:`resolve_inputs`, :func:`recheck_inputs`, :func:`send_inputs` and
:func:`materialise_job`, never a layout's own functions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Collection, Iterable, Optional, Set

from ..config import Config
from ..progress import ProgressCallback
from .backend import Backend
from .materialise import materialise, node_cache_dir
from ..storekeys import blob_key
from .index import VerifyReport
from .mirror import MirrorLayout, classify_mirror, materialise_mirror, recheck_mirror, upload_mirror, verify_mirror
from .packs import PackSettings
from .reports import MaterialiseReport, UploadReport
from .resolve import Resolution, resolve
from .upload import recheck_in_store, upload

if TYPE_CHECKING:
    from .opener import Store

CAS, MIRROR = "cas", "mirror"


def layout_of(config: Config) -> str:
    return MIRROR if config.get("store.layout", CAS) == MIRROR else CAS


def resolve_inputs(paths: Iterable[str], store: "Store", config: Optional[Config] = None,
                   progress: Optional[ProgressCallback] = None, trust_team: bool = True) -> Resolution:
    """:func:`resolve.resolve`, then "in store" in the store's layout: ``cas``, its blob is
    there; ``mirror``, its path's key holds this content now (the last write of that key)."""
    res = resolve(paths, store, config, progress=progress, trust_team=trust_team)
    if layout_of(store.config) == MIRROR:
        classify_mirror(res, store)
    return res


def recheck_inputs(res: Resolution, store: "Store", progress: Optional[ProgressCallback] = None) -> Set[str]:
    """``upload --recheck``: put back to upload every in-store file whose stored copy is lost,
    short or holds other bytes, in the store's layout. Returns what :func:`send_inputs` must send
    even though something of that name is there (``cas``: blob hashes; ``mirror``: nothing, the
    files are simply to upload again)."""
    if layout_of(store.config) == MIRROR:
        recheck_mirror(res, store, progress)
        return set()
    return recheck_in_store(res, store, progress)


def send_inputs(res: Resolution, store: "Store", progress: Optional[ProgressCallback] = None,
                force: Collection[str] = ()) -> UploadReport:
    """Upload what ``res`` (from :func:`resolve_inputs`) marked to upload, in the store's
    layout: content-addressed blobs, or path keys for an s3fs mirror; then one index shard.
    What every command that sends inputs calls (``upload``, ``upload --recheck``, the upload stage)."""
    if layout_of(store.config) == MIRROR:
        return upload_mirror(res, store, progress)
    return upload(res, store, progress=progress, force=force)


@dataclass
class StoreCheck:
    """What ``index verify`` found, with how to name an object of its lists (a blob's key from
    its hash in ``cas``; the key itself in ``mirror``) and what the store holds (``blobs``, ``keys``)."""

    report: VerifyReport
    key: Callable[[str], str]
    noun: str


def verify_store(store: "Store", deep: bool = False, progress: Optional[ProgressCallback] = None) -> StoreCheck:
    """``cloudsubmit index verify`` in the store's layout: ``cas``, every indexed blob exists with
    its size (``deep``: and hashes to its name); ``mirror``, every path key holds its last write."""
    if layout_of(store.config) == MIRROR:
        store.index.refresh()
        return StoreCheck(verify_mirror(store, deep, progress), str, "keys")
    return StoreCheck(store.index.verify(deep=deep, threads=store.threads, progress=progress), blob_key, "blobs")


def materialise_job(
    backend: Backend,
    job_id: str,
    session: str,
    config: Optional[Config] = None,
    *,
    cache_dir: Optional[str] = None,
    threads: Optional[int] = None,
    progress: Optional[ProgressCallback] = None,
) -> MaterialiseReport:
    """What a render stage calls: layout, node cache and threads come from ``config`` unless
    given. ``cas`` downloads into the session; ``mirror`` only checks the mounted bucket."""
    config = config if config is not None else Config.defaults()
    if layout_of(config) == MIRROR:
        return materialise_mirror(backend, MirrorLayout.from_config(config), job_id)
    threads = max(1, threads or int(config.get("store.transfer.threads", 8) or 8))
    max_bytes = int(float(config.get("store.transfer.node_cache_max_gb", 0) or 0) * 1e9)
    return materialise(backend, job_id, session, cache_dir=cache_dir or node_cache_dir(config),
                       threads=threads, progress=progress, max_cache_bytes=max_bytes,
                       range_gap=PackSettings.from_config(config).range_gap)
