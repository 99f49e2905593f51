"""The smallest terminal we support (60x20): every row reachable, every dialog readable."""

from __future__ import annotations

from pathlib import Path

from textual.containers import VerticalScroll
from textual.geometry import Region

from tests.app_fixtures import make_app
from tests.test_app import selected, start
from warungin_tui.screens.confirm import ConfirmScreen
from warungin_tui.widgets.step_list import RowList

SMALL = (60, 20)


def inside(widget_region: Region, screen_region: Region) -> bool:
    return screen_region.contains_region(widget_region)


async def test_every_overview_row_is_reachable_at_60x20(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    async with app.run_test(size=SMALL) as pilot:
        app = await start(pilot)
        rows = app.screen.query_one(RowList)
        last = rows.get_option_at_index(rows.option_count - 1).id
        for _ in range(rows.option_count):  # the cursor wraps: stop on the last row
            if selected(app) == last:
                break
            await pilot.press("down")
        assert selected(app) == last  # the rollback and incident rows below the fold
        await pilot.pause()
        # the highlighted row is scrolled into the list's visible window
        assert rows.highlighted is not None
        top = rows.scroll_offset.y
        assert top > 0 and top <= rows.highlighted <= top + rows.scrollable_content_region.height


async def test_a_long_dialog_keeps_its_keys_in_sight_and_scrolls_at_60x20(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    message = "\n".join(f"restore line {n}: /srv/New-Warungin/file-{n}" for n in range(40))
    async with app.run_test(size=SMALL) as pilot:
        app = await start(pilot)
        answers: list[bool | None] = []
        dialog = ConfirmScreen("Run Restore the backup?", message, danger=True)
        app.push_screen(dialog, answers.append)
        await pilot.pause()
        assert app.screen is dialog
        screen_region = app.screen.region
        keys = app.screen.query_one(".dialog-keys")
        title = app.screen.query_one(".dialog-title")
        assert inside(keys.region, screen_region) and keys.region.height > 0
        assert inside(title.region, screen_region) and title.region.height > 0
        body = app.screen.query_one(".dialog-scroll", VerticalScroll)
        assert body.max_scroll_y > 0  # 40 lines do not fit: they scroll instead of being cut
        body.focus()
        await pilot.press("end")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("n")
        await pilot.pause()
        assert answers == [False]
