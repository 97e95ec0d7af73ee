"""The one place that chooses between the store's two layouts (``store.layout``).

``cas``: content-addressed blobs, downloaded into a session on the node (``materialise.py``).
``mirror``: path keys in a bucket the cloud nodes mount with s3fs, checked in place (``mirror.py``).
Stages and commands call :func:`send_inputs` and :func:`materialise_job`, never the layouts."""
from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Optional

from ..config import Config
from ..progress import ProgressCallback
from .backend import Backend
from .materialise import materialise, node_cache_dir
from .mirror import MirrorLayout, materialise_mirror, upload_mirror
from .packs import PackSettings
from .reports import MaterialiseReport
from .resolve import Resolution
from .upload import upload

if TYPE_CHECKING:
    from .opener import Store

CAS, MIRROR = "cas", "mirror"


def layout_of(config: Config) -> str:
    return MIRROR if config.get("store.layout", CAS) == MIRROR else CAS


def send_inputs(res: Resolution, store: "Store", config: Optional[Config] = None,
                progress: Optional[ProgressCallback] = None) -> Dict[str, int]:
    """Upload in the store's layout: content-addressed blobs, or path keys for an s3fs mirror."""
    if layout_of(store.config) == MIRROR:
        summary, skipped = upload_mirror(res, store, progress)
        return {"uploaded_files": summary.files, "uploaded_bytes": summary.bytes, "skipped_files": skipped}
    rep = upload(res, store, config, progress)
    return {"uploaded_files": rep.uploaded_files, "uploaded_bytes": rep.uploaded_bytes,
            "skipped_files": rep.skipped_files}


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
