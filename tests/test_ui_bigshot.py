"""The panel on a big shot (issue 13): the scanned rows show before the store has answered; a
filter, and a sort order the list does not have yet, are made on a worker and swapped in (only the
last keystroke's rows are shown), the selected files stay selected, and a made order is kept.
Behaviour only; the timings are in bench/bench_panel.py."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import threading  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("Qt")
pytest.importorskip("pytestqt")

from cloudsubmit.ui import models  # noqa: E402
from cloudsubmit.ui.controller import ASYNC_ROWS  # noqa: E402
from cloudsubmit.units import human_size  # noqa: E402
from cloudsubmit.vocabulary import IN_STORE, TO_UPLOAD, UNKNOWN  # noqa: E402

from support.uifakes import FakeCore, listed_files, open_panel  # noqa: E402

WAIT_MS = 30_000
N = ASYNC_ROWS + 5_000


@pytest.fixture(autouse=True)
def _user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


class SlowStore(FakeCore):
    """The store check waits until the test lets it answer (a warm resolve of a big shot takes
    seconds); every third file is in the store already."""

    def __init__(self, listed):
        super().__init__([], listed=listed)
        self.answer = threading.Event()

    def resolve(self, paths, progress):
        assert self.answer.wait(20), "the test never let the store answer"
        return {p: IN_STORE if i % 3 == 0 else TO_UPLOAD for i, p in enumerate(paths)}


def _checked(qtbot, tmp_path, missing=0):
    """A panel showing a big shot's checked list (the store answers at once)."""
    core = SlowStore(listed_files(N, missing=missing))
    core.answer.set()
    panel = open_panel(qtbot, tmp_path, core)
    panel.rescan()
    qtbot.waitUntil(lambda: not panel.controller.busy, timeout=WAIT_MS)
    return panel


def _shown(panel):
    return [panel.model.index(i, 1).data() for i in range(panel.model.rowCount())]


def _first(panel):
    return panel.model.index(0, 1).data()


def test_the_scanned_rows_show_while_the_store_is_still_checking(qtbot, tmp_path):
    core = SlowStore(listed_files(N))
    panel = open_panel(qtbot, tmp_path, core)
    panel.rescan()
    qtbot.waitUntil(lambda: panel.model.rowCount() == N, timeout=WAIT_MS)
    ctrl = panel.controller
    assert ctrl.busy == "scan" and {r.state for r in ctrl.rows} == {UNKNOWN}  # rows first, states later
    assert panel.totals.text() == f"{N} files, {N} not checked against the cloud yet, {human_size(N)}, 0 missing"
    assert not panel.submit_button.isEnabled()
    core.answer.set()
    qtbot.waitUntil(lambda: not ctrl.busy, timeout=WAIT_MS)
    in_store = (N + 2) // 3
    assert panel.totals.text() == f"{N} files, {in_store} already in the cloud, {N - in_store} to upload, " \
                                  f"{human_size(N - in_store)}, 0 missing"
    assert panel.submit_button.isEnabled() and not ctrl.stale


def test_a_big_lists_filter_and_new_sort_are_made_on_a_worker_and_swapped_in(qtbot, tmp_path, monkeypatch):
    filtered_on, sorted_on = [], []
    real_filtered, real_sort = models.filtered, models.sort_view

    def watched_filter(table, text, state, *args):  # observes where the view is made, then makes it
        filtered_on.append((threading.current_thread() is threading.main_thread(), text, state))
        return real_filtered(table, text, state, *args)

    def watched_sort(table, column, descending):
        sorted_on.append((threading.current_thread() is threading.main_thread(), (column, descending) in table.views))
        return real_sort(table, column, descending)

    monkeypatch.setattr(models, "filtered", watched_filter)
    monkeypatch.setattr(models, "sort_view", watched_sort)
    panel = _checked(qtbot, tmp_path, missing=2)
    panel.search.setText("tex_0001")  # 10 paths hold tex_0001x
    assert panel.model.rowCount() == N + 2 and panel.runner.busy()  # the rows shown stay while a worker filters
    assert panel.totals.text().endswith(" (filtering...)")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 10 and not panel.runner.busy(), timeout=WAIT_MS)
    assert not panel.totals.text().endswith(" (filtering...)")
    panel.model.sort(1, descending_order())  # a new order: the rows stay as they are meanwhile
    assert panel.model.rowCount() == 10 and panel.runner.busy()
    qtbot.waitUntil(lambda: _shown(panel)[:1] == ["/gs/show/tex/tex_00019.exr"], timeout=WAIT_MS)
    assert _shown(panel) == [f"/gs/show/tex/tex_{i:05d}.exr" for i in range(19, 9, -1)]
    qtbot.waitUntil(lambda: not panel.runner.busy(), timeout=WAIT_MS)
    panel.search.setText("")  # the sort stays when the filter goes, and needs no pass: at once
    assert panel.model.rowCount() == N + 2 and not panel.runner.busy()
    assert _first(panel) == f"/gs/show/tex/tex_{N - 1:05d}.exr"
    panel.model.sort(1, ascending_order())
    qtbot.waitUntil(lambda: _first(panel) == "/gs/show/tex/gone_0.exr", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not panel.runner.busy(), timeout=WAIT_MS)
    panel.model.sort(1, descending_order())  # an order made once is shown again at once
    assert _first(panel) == f"/gs/show/tex/tex_{N - 1:05d}.exr" and not panel.runner.busy()
    assert ("tex_0001" in [text for _main, text, _state in filtered_on])
    assert all(not main for main, text, state in filtered_on if text.strip() or state != "all")
    assert [kept for main, kept in sorted_on if not kept] == [False, False]  # each order made once ...
    assert all(not main for main, kept in sorted_on if not kept)  # ... on a worker


def test_a_rescan_brings_the_artists_sort_order_with_the_checked_list(qtbot, tmp_path, monkeypatch):
    panel = _checked(qtbot, tmp_path)
    panel.model.sort(1, descending_order())  # by path, last first
    qtbot.waitUntil(lambda: not panel.runner.busy() and _first(panel) == f"/gs/show/tex/tex_{N - 1:05d}.exr",
                    timeout=WAIT_MS)
    panel.rescan()
    qtbot.waitUntil(lambda: not panel.controller.busy, timeout=WAIT_MS)
    assert panel.controller.files.table.views.get((1, True)) is not None  # made by the scan's worker
    assert _first(panel) == f"/gs/show/tex/tex_{N - 1:05d}.exr"


def test_the_last_keystroke_wins_when_the_artist_types_on(qtbot, tmp_path):
    panel = _checked(qtbot, tmp_path)
    ctrl = panel.controller
    shown_for = []
    ctrl.subscribe(lambda topic: topic == "rows" and shown_for.append(ctrl.files.filter_text))
    for text in ("t", "te", "tex_000", "tex_0000"):  # faster than a worker filters 25,000 rows
        panel.search.setText(text)
    qtbot.waitUntil(lambda: not panel.runner.busy() and panel.model.rowCount() == 10, timeout=WAIT_MS)
    assert shown_for == ["tex_0000"]  # only the last keystroke's rows were ever shown
    # the scan's order: what needs the artist first (to upload), then what the store has
    assert _shown(panel) == [f"/gs/show/tex/tex_{i:05d}.exr" for i in (1, 2, 4, 5, 7, 8, 0, 3, 6, 9)]
    panel.state_filter.setCurrentIndex(1)  # "in the cloud": every third
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4, timeout=WAIT_MS)
    assert _shown(panel) == [f"/gs/show/tex/tex_{i:05d}.exr" for i in (0, 3, 6, 9)]


def test_the_selected_files_stay_selected_through_a_filter_and_a_sort(qtbot, tmp_path):
    from Qt import QtCore

    panel = _checked(qtbot, tmp_path)
    model, flags = panel.model, QtCore.QItemSelectionModel.SelectionFlag
    picked = QtCore.QItemSelection(model.index(0, 0), model.index(4, model.columnCount() - 1))
    panel.table.selectionModel().select(picked, flags.ClearAndSelect | flags.Rows)  # as a shift-click does
    chosen = panel.selected_paths()
    assert chosen == [f"/gs/show/tex/tex_{i:05d}.exr" for i in (1, 2, 4, 5, 7)]  # to upload first
    panel.model.sort(1, descending_order())
    qtbot.waitUntil(lambda: not panel.runner.busy() and _first(panel) == f"/gs/show/tex/tex_{N - 1:05d}.exr",
                    timeout=WAIT_MS)
    assert panel.selected_paths() == chosen[::-1]  # moved to the end of the list, still selected
    panel.search.setText("tex_0000")  # ten files, the five selected among them
    qtbot.waitUntil(lambda: not panel.runner.busy() and model.rowCount() == 10, timeout=WAIT_MS)
    assert panel.selected_paths() == chosen[::-1]
    panel.search.setText("tex_00001")
    qtbot.waitUntil(lambda: not panel.runner.busy() and model.rowCount() == 1, timeout=WAIT_MS)
    assert panel.selected_paths() == chosen[:1]
    panel.search.setText("")  # what the filter hid is no longer selected, as a Qt filter proxy does
    qtbot.waitUntil(lambda: not panel.runner.busy() and model.rowCount() == N, timeout=WAIT_MS)
    assert panel.selected_paths() == chosen[:1]


def test_all_rows_selected_cost_a_header_paint_no_walk_over_the_rows_and_a_header_click_still_sorts(
        qtbot, tmp_path, monkeypatch):
    from Qt import QtCore, QtWidgets

    from cloudsubmit.ui import widgets

    asked = []
    real = widgets.DependencyModel.rowCount
    monkeypatch.setattr(widgets.DependencyModel, "rowCount", lambda self, *a: asked.append(1) or real(self, *a))
    panel = _checked(qtbot, tmp_path)
    panel.show()
    qtbot.waitExposed(panel)
    panel.table.selectAll()  # Ctrl+A: one range
    header = panel.table.horizontalHeader()
    asked.clear()
    header.viewport().update()
    QtWidgets.QApplication.processEvents()  # the paint
    assert len(asked) < 100  # Qt asked once per row and column (100,000 calls into Python for 25,000 rows)
    assert len(panel.selected_paths()) == N
    x = header.sectionViewportPosition(1) + header.sectionSize(1) // 2
    qtbot.mouseClick(header.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(x, header.height() // 2))
    qtbot.waitUntil(lambda: not panel.runner.busy() and panel.controller.files.sort is not None, timeout=WAIT_MS)
    assert panel.controller.files.sort[0] == 1 and len(panel.selected_paths()) == N  # sorted by path, all still selected


def descending_order():
    from Qt import QtCore

    return QtCore.Qt.SortOrder.DescendingOrder


def ascending_order():
    from Qt import QtCore

    return QtCore.Qt.SortOrder.AscendingOrder
