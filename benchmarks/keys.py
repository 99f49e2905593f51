"""How many keys the healthy rehearsal takes, from the start screen to the finished, exported run.

    python benchmarks/keys.py                 # uses the installed `warungin-tui`
    python benchmarks/keys.py --json          # the counts as JSON (per phase too)

`warungin-tui demo` runs in `tmux new -d -x 80 -y 24` and is driven with send-keys the way a
person who knows the tool would: the fewest keys the screens offer, waiting for what the screen
shows (capture-pane) before each key, never for a fixed time. Navigation keys (enter, space, y,
letters that are commands) are counted apart from typed characters (names, values, reasons):
the goal (issue 13) is at most 60 navigation keys. tests/test_keys_count.py runs this in CI.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.tmux_driver import TmuxScreen, private_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NAVIGATION_GOAL = 60
PROMPT = "enter = accept"
CHOICE = "enter = choose"
CONFIRM = "y = yes"
NAMES = {
    "QA Lead": "Quinn Qa",
    "Security Lead": "Sam Secure",
    "Tech Lead": "Tina Tech",
    "Product Manager": "Pat Product",
    "Ops Lead": "Olly Ops",
}
"""One person per role: a name typed once is offered again, so it is not typed twice."""
ANSWERS = {
    "Who is on call": "Olly Ops",
    "Uptime": "99.9",
    "critical issues": "0",
    "User reports": "none",
    "authorized by": "Pat Product",
    "monitoring not evidenced": "rehearsal watched for minutes",
}
TIMEOUT_S = 120.0


@dataclass
class KeyCount:
    """Keys sent, by phase: navigation keys and typed characters apart."""

    navigation: Counter[str] = field(default_factory=Counter)
    typed: Counter[str] = field(default_factory=Counter)
    keys: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total_navigation(self) -> int:
        return sum(self.navigation.values())

    @property
    def total_typed(self) -> int:
        return sum(self.typed.values())

    def as_json(self) -> dict[str, object]:
        return {
            "navigation_keys": self.total_navigation,
            "typed_characters": self.total_typed,
            "goal_navigation_keys": NAVIGATION_GOAL,
            "seconds": round(self.seconds, 1),
            "by_phase": {
                phase: {"navigation": n, "typed": self.typed[phase]}
                for phase, n in self.navigation.items()
            },
            "keys": [f"{phase}: {key}" for phase, key in self.keys],
        }


class Rehearsal:
    """The demo in tmux, with every key sent counted under the phase being worked."""

    def __init__(self, screen: TmuxScreen) -> None:
        self.screen = screen
        self.count = KeyCount()
        self.phase = "start"

    def press(self, key: str) -> None:
        self.count.navigation[self.phase] += 1
        self.count.keys.append((self.phase, key))
        self.screen.keys(key)

    def type(self, text: str) -> None:
        self.count.typed[self.phase] += len(text)
        self.screen.type(text)

    def wait_for(self, pattern: str | Callable[[str], bool], timeout: float = TIMEOUT_S) -> str:
        return self.screen.wait_for(pattern, timeout=timeout)

    def changed(self, before: str) -> str:
        return self.wait_for(lambda s: s != before, timeout=30)

    # -- dialogs -----------------------------------------------------------------------------
    def fill_prompt(self, text: str) -> None:
        """Type the answer into the text prompt on screen, unless it is offered already."""
        dialog = dialog_text(text) or ""
        wanted = next(
            (name for role, name in NAMES.items() if f"Sign-off: {role}" in dialog),
            None,
        )
        if wanted is None:
            wanted = next((v for k, v in ANSWERS.items() if k in dialog), "Rehearsal Person")
        if wanted not in field_text(text):
            shown = text.count(wanted)
            self.type(wanted)
            self.wait_for(lambda s: s.count(wanted) > shown)  # echoed in the field

    def answer(self, key: str, effect: Callable[[str], bool]) -> None:
        """Press `key` and wait for its `effect` on the screen (never for a fixed time)."""
        self.press(key)
        self.wait_for(effect)

    # -- phases ------------------------------------------------------------------------------
    def work_phase(self, name: str, title: str, done: str) -> str:
        """On the phase titled `title`: answer every row (space, or the dialog it opens) and
        every dialog the run asks, until its header shows `done` ("27/27")."""
        self.phase = name
        self.wait_for(re.escape(title))
        deadline = time.monotonic() + TIMEOUT_S
        selected = ""  # the row being answered, as the detail pane names it
        while time.monotonic() < deadline:
            text = self.screen.text()

            def moved_on(s: str, selected: str = selected) -> bool:
                """The answer landed: the cursor moved on to the next open row (or the phase
                is done); a key sent earlier would act on the row just answered."""
                return selected_title(s) != selected or done in s.splitlines()[0]

            if CONFIRM in text:  # a destructive step: the person said yes
                self.answer("y", lambda s: CONFIRM not in s)
            elif PROMPT in text or CHOICE in text:  # a sign-off's name, a question's value
                if PROMPT in text:
                    self.fill_prompt(text)
                self.answer("Enter", lambda s: not has_dialog(s) and moved_on(s))
            elif done in text.splitlines()[0]:
                return text
            elif re.search(r"\bPass\b", footer := text.rstrip().splitlines()[-1]):
                selected = selected_title(text)
                self.answer("Space", lambda s, sel=selected: moved_on(s, sel) or has_dialog(s))
            elif re.search(r"\b(Sign|Answer)\b", footer):
                selected = selected_title(text)
                self.answer("Enter", has_dialog)
            else:  # automated steps run by themselves (opened with n): watch them
                self.changed(text)
        raise AssertionError(f"{title} never reached {done}:\n{self.screen.text()}")

    def decide_and_finish(self) -> None:
        """Go-live: `n` asked the decision at once; approve, name, why without 24 h of
        monitoring (a rehearsal), then finish when offered (y); F's export ends it."""
        self.wait_for(CHOICE)
        self.answer("Enter", lambda s: "Authorized by" in s)
        text = self.screen.text()
        self.fill_prompt(text)
        self.answer("Enter", lambda s: "monitoring not evidenced" in s)
        self.fill_prompt(self.screen.text())
        self.answer("Enter", lambda s: CONFIRM in s and "Finish the run" in s)
        self.answer("y", lambda s: "Log exported" in s)

    def next_phase(self) -> None:
        self.press("n")


def dialog_text(screen: str) -> str | None:
    """The text inside the dialog on screen (between its side borders), None without one."""
    lines = screen.splitlines()
    keys_at = next(
        (i for i, line in enumerate(lines) if any(k in line for k in (PROMPT, CHOICE, CONFIRM))),
        None,
    )
    if keys_at is None:
        return None
    window = lines[max(0, keys_at - 12) : keys_at + 1]
    inside = [re.sub(r"^[^█]*█|█[^█]*$", "", line) for line in window]
    return "\n".join(inside)


def has_dialog(screen: str) -> bool:
    return any(k in screen for k in (PROMPT, CHOICE, CONFIRM))


def field_text(screen: str) -> str:
    """What the dialog's input field holds."""
    return " ".join(m.strip() for m in re.findall(r"▊(.*?)▎", dialog_text(screen) or ""))


def selected_title(screen: str) -> str:
    """What the detail pane says of the row the cursor is on: the lines under the rules that
    separate the step list from the detail, and what to look for (the report's item)."""
    lines = screen.splitlines()
    under_rules = [
        lines[i + 1].strip()
        for i, line in enumerate(lines[:-1])
        if re.fullmatch(r"[─╍]{40,}", line.strip())
    ]
    look_for = [line for line in lines if line.startswith(" Look for:")]
    return "\n".join(under_rules + look_for)


def steps_done(screen: str) -> str:
    """The header's "done/total" of the phase on screen."""
    found = re.search(r"\d+/\d+", screen.splitlines()[0] if screen else "")
    return found.group(0) if found else ""


def rehearse(rehearsal: Rehearsal) -> KeyCount:
    """The healthy demo from the start screen to `F`'s export, with the fewest keys."""
    started = time.monotonic()
    r = rehearsal
    r.wait_for("enter = connect", timeout=60)
    r.press("Enter")
    r.wait_for("Overview")
    r.phase = "pre"
    r.press("Enter")  # the overview opens the phase the run stands at
    r.work_phase("pre", "Pre-deployment checklist", "27/27")
    for name, title, done in [
        ("phase1", "Phase 1: Pre-deployment", "5/5"),
        ("phase2", "Phase 2: Code deployment", "11/11"),
        ("phase3", "Phase 3: Post-deployment verification", "6/6"),
        ("smoke", "Production smoke test", "5/5"),
        ("report", "Production verification report", "2/2"),
        ("completion", "Deployment completion", "5/5"),
        ("monitoring", "Post-deployment monitoring", "10/10"),
    ]:
        r.phase = name
        r.next_phase()
        r.work_phase(name, title, done)
    r.phase = "golive"
    r.next_phase()  # opens the go-live decision: the choice is asked at once
    r.wait_for("Go-live decision")
    r.decide_and_finish()
    r.count.seconds = time.monotonic() - started
    return r.count


def console_script() -> str | None:
    found = shutil.which("warungin-tui") or str(Path(sys.executable).parent / "warungin-tui")
    return found if Path(found).exists() else None


def measure(script: str, tmp: Path) -> KeyCount:
    screen = TmuxScreen([script, "demo"], env=private_env(tmp), cwd=tmp)
    try:
        count = rehearse(Rehearsal(screen))
        screen.keys("q")  # not counted: quitting is after the measured path
        screen.wait_for(CONFIRM)
        screen.keys("y")
        screen.wait_for(r"EXITED-\d+", timeout=60)
        return count
    finally:
        screen.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args()
    script = console_script()
    if script is None or shutil.which("tmux") is None:
        print("needs tmux and the installed console script (pip install -e .)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="keys-", ignore_cleanup_errors=True) as tmp:
        count = measure(script, Path(tmp))
    if args.json:
        print(json.dumps(count.as_json(), indent=2))
    else:
        for phase, n in count.navigation.items():
            print(f"{phase:<12} {n:>3} keys  {count.typed[phase]:>4} typed characters")
        print(
            f"{'total':<12} {count.total_navigation:>3} keys  {count.total_typed:>4} typed "
            f"characters  (goal: at most {NAVIGATION_GOAL} keys; {count.seconds:.0f} s)"
        )
    return 0 if count.total_navigation <= NAVIGATION_GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
