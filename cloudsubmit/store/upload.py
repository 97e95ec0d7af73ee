"""Upload what a resolution found missing from the store, then record it in one index shard.

Every blob goes up through a reader that hashes exactly the bytes it hands to the backend and,
at the last byte, refuses (raises) if they do not hash to the blob's name or the file's size or
mtime moved: the backend then stores nothing (directory: the temp file is dropped; S3: the
single PUT is never sent or the multipart upload is aborted). So a blob is always exactly its
name, and the shard that lists it is written only after all its blobs are complete.

Resume: a blob already in the store with the right size (a crashed earlier run, a teammate a
second ago) is not sent again. Whether to ask per blob (HEAD) or list ``cas/`` (one request per
1000 blobs) is chosen by which costs fewer requests.

Small files go up in packs (``store/packs.py``, ``store.packs.*``): one request per tens of MB
instead of one per file; their index entries say which pack holds them and where."""
from __future__ import annotations

import time
from array import array
from functools import partial
from typing import (TYPE_CHECKING, Any, Callable, Collection, Dict, Iterable, Iterator, List, Optional, Sequence, Set,
                    Tuple)

from ..errors import Cancelled, StoreError
from ..progress import ProgressCallback
from ..storekeys import BLOB_PREFIX, blob_key
from .backend import BytesCallback
from .blobs import FileChanged, put_verified
from .claims import probe_unchanged
from .index import IndexEntry, TeamIndex, current_user
from .packs import PackOutcome, PackSettings, check_packs, plan_packs, send_pack
from .reports import UploadReport
from .resolve import IN_STORE, REFUSED, TO_UPLOAD, FileState, Resolution
from .transfer import TransferItem, TransferSummary, run_transfers

if TYPE_CHECKING:
    from ..config import Config
    from .opener import Store


class UploadRefused(StoreError):
    """Some files changed while being uploaded and were left out; the rest were uploaded and
    recorded (``report``). Raised so no caller builds a job on files that are not in the store."""

    def __init__(self, report: "UploadReport") -> None:
        first = report.refused[0]
        super().__init__(f"{first['path']}: {first['reason']}; {len(report.refused)} file(s) not uploaded, run again")
        self.report = report


def _present_blobs(store: "Store", wanted: Collection[str]) -> Optional[Dict[str, int]]:
    """Sizes of the wanted blobs that are in the store already, by one listing of ``cas/`` (its
    16 hex parts at once), or None when a HEAD per blob (run in the upload threads) is cheaper.
    A listed page costs about ten HEADs, and the store's size is estimated from the index's
    entry count (a sum over shards, not a walk over a million entries)."""
    pages = max(16, store.index.entry_count() // 1000 + 1)
    if pages * _PAGE_COST >= len(wanted):
        return None
    return {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list_hex(BLOB_PREFIX, store.threads)
            if k[len(BLOB_PREFIX):] in wanted}


_PAGE_COST = 10  # HEADs one LIST page of 1000 keys is worth (wall time, S3 and moto alike)


def recheck_in_store(resolution: Resolution, store: "Store", progress: Optional[ProgressCallback] = None) -> Set[str]:
    """Put back to upload every file the index says is stored whose blob is gone, has the wrong
    size, or (read and hashed here) the wrong content: otherwise the index's word keeps a lost
    blob lost for ever. One listing of ``cas/``, then one download of each of this scene's blobs.
    Packed files: the packs holding them are read once each and every member hashed.
    Returns the hashes :func:`upload` must send even though a blob of that name exists."""
    stored = resolution.in_store
    if not stored:
        return set()
    packed = store.index.packed()
    loose = [f for f in stored if f.hash not in packed]
    present = {k[len(BLOB_PREFIX):]: s for k, s in store.backend.list(BLOB_PREFIX)} if loose else {}
    lost = {f.hash for f in loose if present.get(f.hash) != f.size}
    sound = sorted({(f.hash, f.size) for f in loose if f.hash not in lost})
    lost |= set(store.index.wrong_content(sound, store.threads, progress))
    mine = {f.hash: packed[f.hash] for f in stored if f.hash in packed}
    if mine:  # the packs holding this scene's small files: read once each, every member hashed
        lost |= check_packs(store.backend, mine, True, store.threads, progress).lost
    for f in stored:
        if f.hash in lost:
            f.state = TO_UPLOAD
    return lost


#: Sends one group of files that share a destination (a blob, or a mirror key) from the first
#: file that still holds what was hashed; returns the file sent, or None when nothing had to go.
SendGroup = Callable[[str, List[FileState], BytesCallback], Optional[FileState]]


def _send_blob(store: "Store", present: Optional[Dict[str, int]], force: Collection[str], digest: str,
               files: List[FileState], on_bytes: BytesCallback) -> Optional[FileState]:
    """Upload one blob from the first of ``files`` that still holds it. Returns the file sent,
    or None when a complete blob was already there (unless forced: its content is wrong)."""
    size = files[0].size
    if digest not in force:
        known = present.get(digest) if present is not None else store.backend.size(blob_key(digest))
        if known == size:
            return None
    return send_first(files, lambda fs: put_verified(store.backend, blob_key(digest), fs.path, size, fs.mtime_ns,
                                                     digest, on_bytes))


def send_first(files: List[FileState], put: Callable[[FileState], None]) -> FileState:
    """``put`` the first of ``files`` that is still what was hashed; :class:`FileChanged` when none is."""
    last: Optional[FileChanged] = None
    for fs in files:
        try:
            put(fs)
            return fs
        except FileChanged as exc:
            last = exc
    raise last or FileChanged("changed while being uploaded")


def _send_or_refuse(store: "Store", send: SendGroup, key: str, files: List[FileState],
                    on_bytes: BytesCallback) -> Tuple[Optional[FileState], Optional[FileChanged]]:
    """One group's outcome: ``(file sent or None, None)``, or ``(None, why)`` when every file
    holding it changed: a refused file is a result, not a reason to stop the others."""
    try:
        return send(key, files, on_bytes), None
    except FileChanged as exc:
        return None, exc
    except (StoreError, Cancelled):
        raise
    except Exception as exc:  # noqa: B902 - a write into the store failed (disk full, read-only share)
        raise _store_failure(store, exc) from None


def _run(store: "Store", items: List[TransferItem], progress: Optional[ProgressCallback],
         done: TransferSummary) -> Optional[BaseException]:
    """Run ``items``; the store failure or cancel that stopped them is returned, not raised, so
    what did complete (in ``done.results``) is recorded first."""
    try:
        run_transfers(items, threads=store.threads, stage="upload", progress=progress, summary=done)
    except (StoreError, Cancelled) as exc:
        return exc
    return None


def send_groups(store: "Store", groups: Dict[str, List[FileState]], send: SendGroup, rep: UploadReport,
                progress: Optional[ProgressCallback] = None) -> Optional[BaseException]:
    """Send every group in the transfer pool and count the outcomes into ``rep`` and the files'
    states (sent or already there: in store; changed: refused). Returns the store failure or
    cancel that stopped the run (raise it with :func:`finish` after recording what did land)."""
    items = [TransferItem(k, fs[0].size, partial(_send_or_refuse, store, send, k, fs)) for k, fs in groups.items()]
    done = TransferSummary()
    failure = _run(store, items, progress, done)
    for key, outcome in zip(groups, done.results):
        if outcome is not None:
            _land(rep, groups[key], *outcome)
    return failure


def finish(rep: UploadReport, failure: Optional[BaseException]) -> UploadReport:
    """Raise the run's failure, or :class:`UploadRefused` for changed files, once all is recorded."""
    if failure is not None:
        raise failure
    if rep.refused:
        raise UploadRefused(rep)
    return rep


def _send_pack(store: "Store", members: Iterable[Tuple[str, Sequence[FileState]]], on_bytes: BytesCallback) -> PackOutcome:
    try:
        return send_pack(store.backend, members, on_bytes)
    except (StoreError, Cancelled):
        raise
    except Exception as exc:  # noqa: B902 - a write into the store failed (disk full, read-only share)
        raise _store_failure(store, exc) from None


_NOT_PLACED, _OWN_BLOB = -2, -1  # a content's place in _Plan.where besides a pack's number


class _Plan:
    """What one upload sends, held as few objects as a 100,000-file shot allows: the files to
    send in one list, sorted so each content's files are adjacent (``starts``: where each
    content's run begins), the packed contents first, in hash order; packs as ranges of
    contents; and, per content, where this upload put it (``where``: a pack's number in
    ``packs``, ``_OWN_BLOB`` or ``_NOT_PLACED``; ``offsets``: where in the pack). No list or
    dict per content, no tuple per file."""

    def __init__(self, files: List[FileState], settings: PackSettings) -> None:
        def by_hash(f: FileState) -> str:
            return f.hash

        small = sorted((f for f in files if f.size < settings.max_file), key=by_hash)
        self.files = small + sorted((f for f in files if f.size >= settings.max_file), key=by_hash)
        self.starts = array("q", (i for i, f in enumerate(self.files) if not i or f.hash != self.files[i - 1].hash))
        packed = sum(1 for i in self.starts if self.files[i].size < settings.max_file)
        self.ranges = plan_packs([self.files[self.starts[c]].size for c in range(packed)], settings)
        self.packed = self.ranges[-1][1] if self.ranges else 0  # contents [0, packed) go in packs
        self.where = array("i", [_NOT_PLACED]) * len(self.starts)
        self.offsets = array("q", [0]) * len(self.starts)
        self.packs: List[str] = []

    def __len__(self) -> int:
        """Transfer items: one per loose content, then one per pack."""
        return len(self.starts) - self.packed + len(self.ranges)

    def group(self, c: int) -> List[FileState]:
        """The files holding content ``c``."""
        end = self.starts[c + 1] if c + 1 < len(self.starts) else len(self.files)
        return self.files[self.starts[c]:end]

    def members(self, first: int, end: int) -> "_Members":
        return _Members(self, first, end)

    def placed(self, c: int) -> Optional[Tuple[str, int]]:
        """``(pack, offset)`` where this upload put content ``c`` (pack "" = its own blob), or None."""
        where = self.where[c]
        return None if where == _NOT_PLACED else ("", 0) if where == _OWN_BLOB else (self.packs[where], self.offsets[c])


class _Members:
    """A pack's ``(hash, files)`` from its range of contents; iterable again (a retried pack
    copies its members again), each group's list made as the pack writer reaches it."""

    def __init__(self, plan: _Plan, first: int, end: int) -> None:
        self.plan, self.first, self.end = plan, first, end

    def __iter__(self) -> Iterator[Tuple[str, List[FileState]]]:
        for c in range(self.first, self.end):
            group = self.plan.group(c)
            yield group[0].hash, group


class _PlanItems(Sequence[TransferItem]):
    """The transfer items of a :class:`_Plan`, each made when the runner submits it."""

    def __init__(self, plan: _Plan, store: "Store", send: SendGroup) -> None:
        self.plan, self.store, self.send = plan, store, send

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i):  # type: ignore[override]  # the runner asks by position only
        plan = self.plan
        loose = len(plan.starts) - plan.packed
        if not 0 <= i < len(plan):
            raise IndexError(i)
        if i < loose:
            group = plan.group(plan.packed + i)
            return TransferItem(group[0].hash, group[0].size,
                                partial(_send_or_refuse, self.store, self.send, group[0].hash, group))
        first, end = plan.ranges[i - loose]
        size = sum(plan.files[plan.starts[c]].size for c in range(first, end))
        return TransferItem(f"packs/ ({end - first} files)", size,
                            partial(_send_pack, self.store, plan.members(first, end)))


def upload(resolution: Resolution, store: "Store", config: Optional[Config] = None,
           progress: Optional[ProgressCallback] = None, force: Collection[str] = ()) -> UploadReport:
    """Send every blob ``resolution`` marked to upload (small files in packs), then write one
    index shard for the batch (the new content and every in-store file whose exact entry the index
    lacks). On cancel, a store failure or a file that changed (:class:`UploadRefused`), what did
    complete is still recorded, then the error is raised. File states in ``resolution`` are
    updated as content lands, each outcome as it comes (a pack's member map is dropped once read)."""
    rep = UploadReport(store.url)
    before = [f for f in resolution.files if f.state == IN_STORE]
    plan = _Plan(resolution.to_upload, PackSettings.from_config(store.config))
    loose = range(plan.packed, len(plan.starts))
    present = _present_blobs(store, {plan.files[plan.starts[c]].hash for c in loose}) if loose else {}
    items = _PlanItems(plan, store, partial(_send_blob, store, present, force))

    def landed(i: int, outcome: Any) -> None:
        if i < len(loose):
            _land_blob(rep, plan, plan.packed + i, *outcome)
        else:
            _land_pack(rep, plan, plan.ranges[i - len(loose)], outcome)

    failure: Optional[BaseException] = None
    try:  # what did complete is still recorded below
        run_transfers(items, threads=store.threads, stage="upload", progress=progress, on_result=landed)
    except (StoreError, Cancelled) as exc:
        failure = exc
    rep.skipped_files += len(before) - _shared_contents(before, plan)
    _record(before, store, rep, plan)
    return finish(rep, failure)


def _land_blob(rep: UploadReport, plan: _Plan, c: int, sent: Optional[FileState], err: Optional[BaseException]) -> None:
    _land(rep, plan.group(c), sent, err)
    if err is None and sent is not None:
        plan.where[c] = _OWN_BLOB


def _land_pack(rep: UploadReport, plan: _Plan, contents: Tuple[int, int], outcome: PackOutcome) -> None:
    """One pack's outcome: its members in store at their offsets, the refused ones refused."""
    rep.packs += 1 if outcome.pack else 0
    if outcome.placed:
        plan.packs.append(outcome.pack)
    for c in range(*contents):
        group = plan.group(c)
        spot = outcome.placed.get(group[0].hash)
        if spot is not None:
            _land(rep, group, spot[1], None)  # type: ignore[arg-type]  # a member's Source is its FileState
            plan.where[c], plan.offsets[c] = len(plan.packs) - 1, spot[0]
        elif group[0].hash in outcome.refused:
            _land(rep, group, None, FileChanged(outcome.refused[group[0].hash]))
    outcome.placed.clear()


def _shared_contents(before: List[FileState], plan: _Plan) -> int:
    """Files that were in the store already whose content this upload sends too (a teammate's
    claim on one path, another path hashed here): counted with the content's own files."""
    if not before or not plan.files:
        return 0
    sending = {plan.files[i].hash for i in plan.starts}
    return sum(1 for f in before if f.hash in sending)


def _land(rep: UploadReport, files: List[FileState], sent: Optional[FileState], err: Optional[BaseException]) -> None:
    """Count one content's outcome: sent from ``sent`` (None: it was in the store already), or
    refused because every file holding it changed."""
    if err is None:
        rep.uploaded_files += 1 if sent is not None else 0
        rep.uploaded_bytes += sent.size if sent is not None else 0
        rep.skipped_files += len(files) - (1 if sent is not None else 0)
        for f in files:
            f.state = IN_STORE
    elif isinstance(err, FileChanged):
        reason = str(err)
        for f in files:
            f.state, f.reason = REFUSED, reason
            rep.refused.append({"path": f.path, "reason": reason})


def _store_failure(store: "Store", exc: BaseException) -> StoreError:
    """A write into the store failed (disk full, read-only share, ...): one line naming the store."""
    if isinstance(exc, OSError):
        return StoreError(f"store {store.url}: cannot write ({exc.strerror or exc})")
    return StoreError(f"store {store.url}: {type(exc).__name__}: {exc}")


_RECORD_BATCH = 5000  # files whose index facts are looked up at a time


def _record(before: List[FileState], store: "Store", rep: UploadReport, plan: _Plan) -> None:
    """One shard for every file now in the store whose exact fact the index lacks, whose content
    this upload put somewhere else than the index says (a re-sent pack member), or whose content
    has no agreed probe yet (entries written before probes: one new entry gives the team fast
    path what its trust rule needs, store/claims.py). The files this upload sent, then those that
    were in the store before (``before``), in slices: the lookups of a 100,000-file upload never
    hold an entry per file at once, and the shard's entries are held as :class:`ShardEntries`."""
    entries = ShardEntries()
    batch: List[FileState] = []
    placed: Dict[str, Tuple[str, int]] = {}
    for c in range(len(plan.starts)):
        group = plan.group(c)
        spot = plan.placed(c)
        if spot is not None:
            placed[group[0].hash] = spot
        batch += (f for f in group if f.state == IN_STORE)
        if len(batch) >= _RECORD_BATCH or c + 1 == len(plan.starts):
            entries.extend(_unrecorded(store.index, batch, placed))
            batch, placed = [], {}
    shared = _shared_places(before, plan)  # content in the store before whose place this upload moved
    for start in range(0, len(before), _RECORD_BATCH):
        entries.extend(_unrecorded(store.index, before[start:start + _RECORD_BATCH], shared))
    _write_entries(store, rep, entries)


def _shared_places(before: List[FileState], plan: _Plan) -> Dict[str, Tuple[str, int]]:
    """Where this upload put the contents that files of ``before`` hold too (usually none)."""
    if not before or not plan.files:
        return {}
    wanted = {f.hash for f in before}
    return {plan.files[i].hash: spot for c, i in enumerate(plan.starts)
            if plan.files[i].hash in wanted and (spot := plan.placed(c)) is not None}


def _unrecorded(index: TeamIndex, stored: List[FileState],
                placed: Dict[str, Tuple[str, int]]) -> Iterator[Tuple[FileState, str, int]]:
    """``(file, pack, offset)`` of the files of one slice that :func:`_record` must write."""
    hashes = {f.hash for f in stored}
    was_at, agreed = index.locations(hashes), index.probes(hashes)
    wanted: List[Tuple[FileState, str, int, bool]] = []
    for f in stored:
        was = was_at.get(f.hash, ("", 0))
        pack, offset = placed.get(f.hash, was)
        wanted.append((f, pack, offset, (pack, offset) != was or f.hash not in agreed))
    new = {e.identity for e in index.new_facts([_entry(f) for f, _p, _o, _m in wanted])}
    return ((f, pack, offset) for f, pack, offset, must in wanted if must or _entry(f).identity in new)


def _entry(f: FileState, user: str = "", now: float = 0.0, pack: str = "", offset: int = 0,
           probe: str = "") -> IndexEntry:
    return IndexEntry(f.hash, f.size, f.root, f.logical, f.mtime_ns, user, now, pack, offset, probe=probe)


class ShardEntries(Sequence[IndexEntry]):
    """The entries of the one shard an upload writes, held as a reference to each file's state
    and a few packed numbers (pack number, offset, the 16 bytes of its probe): about 40 bytes a
    file instead of an entry tuple with its probe text (~300). Each :class:`IndexEntry` is made
    when the shard encoder or the local view asks for it. Each file's probe is read as it is
    added, after its content is complete in the store (as before: the entry's probe must
    describe the version that was sent)."""

    def __init__(self) -> None:
        self.user, self.time = current_user(), time.time()
        self.files: List[FileState] = []
        self.packs: List[str] = [""]  # pack names by number; 0 = its own blob
        self._numbers: Dict[str, int] = {"": 0}
        self.where, self.offsets = array("i"), array("q")
        self.probes, self.probed = bytearray(), bytearray()

    def extend(self, files: Iterable[Tuple[FileState, str, int]]) -> None:
        for f, pack, offset in files:
            number = self._numbers.get(pack)
            if number is None:
                number = self._numbers[pack] = len(self.packs)
                self.packs.append(pack)
            probe = probe_unchanged(f)
            self.files.append(f)
            self.where.append(number)
            self.offsets.append(offset)
            self.probed.append(1 if probe else 0)
            self.probes += bytes.fromhex(probe) if probe else bytes(16)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self.files)))]
        f = self.files[i]
        i = i % len(self.files)
        probe = self.probes[16 * i:16 * i + 16].hex() if self.probed[i] else ""
        return _entry(f, self.user, self.time, self.packs[self.where[i]], self.offsets[i], probe)


def record_files(store: "Store", rep: UploadReport, files: Iterable[Tuple[FileState, str, int]]) -> None:
    """Write one index shard naming ``files`` (each complete in the store by now, ``(file, pack,
    offset)``; pack "" = its own blob or a mirror key) with each file's probe, then compact when
    the index has grown past ``store.compact_after`` shards."""
    entries = ShardEntries()
    entries.extend(files)
    _write_entries(store, rep, entries)


def _write_entries(store: "Store", rep: UploadReport, entries: ShardEntries) -> None:
    """The shard of ``entries`` (nothing when empty), counted into ``rep``; then compact when due."""
    if not entries:
        return
    rep.shard = store.index.write_shard(entries)
    rep.indexed_files = len(entries)
    _maybe_compact(store)


def _maybe_compact(store: "Store") -> None:
    """Keep a fresh machine's first read of the index to a few requests. Compaction is safe with
    any number of concurrent writers and compactors; if it fails, the upload has still succeeded."""
    limit = int(store.config.get("store.compact_after", 0) or 0)
    if limit and store.index.shard_count() > limit:
        try:
            store.index.compact()
        except StoreError:
            pass
