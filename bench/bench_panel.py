"""How the submit panel copes with a big scene: 10,000 and 50,000 dependency rows.

Prints the time the main thread spends on each thing an artist does (showing a scan, typing in the
filter box, sorting, scrolling) and the longest gap between event-loop turns while a worker scans,
which is what "the UI stays responsive" means. Run: ``python bench/bench_panel.py``."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cloudsubmit.progress import ProgressReport, report  # noqa: E402
from cloudsubmit.scan.model import Dependency, DependencySet  # noqa: E402
from cloudsubmit.ui.services import IN_STORE, TO_UPLOAD, Services, SubmitResult  # noqa: E402


def dependencies(n: int) -> DependencySet:
    deps = [Dependency(f"/gs/work/show/sq{i // 1000:02d}/tex/asset_{i:06d}.1001.exr", i % 997 != 0,
                       1_000_000 + i, "texture", f"file{i}.fileTextureName") for i in range(n)]
    return DependencySet(scene="/gs/work/show/shot.ma", frames="1-100", dependencies=deps)


def services(n: int, slow_s: float = 0.0) -> Services:
    def scan(scene, frames, snap, progress):
        deps = dependencies(n)
        for i in range(n):  # a worker reporting every file: the panel must throttle
            if slow_s:
                time.sleep(slow_s / n)
            report(progress, ProgressReport("scan", i + 1, n))
        return deps

    def resolve(paths, progress):
        return {p: IN_STORE if i % 3 else TO_UPLOAD for i, p in enumerate(paths)}

    return Services(scan=scan, resolve=resolve, submit=lambda r, d, p: SubmitResult("x"), status=lambda j: [])


def timed(label: str, fn, repeat: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    ms = (time.perf_counter() - start) * 1000 / repeat
    print(f"  {label:<44} {ms:8.1f} ms")
    return ms


def run(n: int) -> None:
    from Qt import QtCore, QtWidgets

    from cloudsubmit.ui.controller import SubmitController
    from cloudsubmit.ui.panel import SubmitPanel

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    ctrl = SubmitController(services(n, slow_s=1.0), settings_file=Path(os.devnull))
    ctrl.load_scene("/gs/work/show/shot.ma")
    panel = SubmitPanel(ctrl)
    panel.show()
    print(f"{n} files")
    deps = dependencies(n)
    states = services(n).resolve([d.path for d in deps.dependencies], None)
    from cloudsubmit.ui.controller import build_rows

    rows = []
    timed("build rows (worker thread)", lambda: rows.append(build_rows(deps, states)))
    timed("show scan result (main thread)", lambda: ctrl.set_dependencies(deps, states, rows[0]))
    timed("filter: type 'sq03' (one keystroke)", lambda: panel.search.setText("sq03"))
    timed("filter: clear", lambda: panel.search.setText(""))
    timed("filter: state = missing", lambda: panel.state_filter.setCurrentIndex(3))
    panel.state_filter.setCurrentIndex(0)
    timed("sort by size", lambda: panel.model.sort(2, QtCore.Qt.SortOrder.DescendingOrder))
    timed("scroll to the end and repaint", lambda: (panel.table.scrollToBottom(), panel.table.viewport().repaint()))
    gaps = []
    panel.rescan()
    last = time.perf_counter()
    while ctrl.busy:
        app.processEvents()
        time.sleep(0.001)  # a real event loop waits for events too
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    print(f"  {'worker scan (1 s, a report per file)':<44} longest event-loop gap {max(gaps) * 1000:.1f} ms "
          f"over {len(gaps)} turns")
    panel.close()


if __name__ == "__main__":
    for count in (10_000, 50_000):
        run(count)
