"""The side file of a step attempt's complete output: redacted, owner-only, checked by the
sha256 the journal records, read back lazily; a step without output has none, and a folder
that cannot be written is said in the journal, never fatal to the step."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from tests.test_redact import PEM, BatchRemote, make_engine
from warungin_tui.engine.output_file import OutputFileWriter, outputs_dir, read_full_output
from warungin_tui.journal import read_journal
from warungin_tui.outcome import StepStatus
from warungin_tui.redact import MASK


def test_the_writer_redacts_each_stream_across_batches_and_hashes_what_it_stored(
    tmp_path: Path,
) -> None:
    begin, *body, end = PEM.split("\n")
    writer = OutputFileWriter(tmp_path / "run-x.outputs" / "s-1.log.gz", "run-x.outputs/s-1.log.gz")
    writer.add("stdout", ["start", begin, body[0]])
    writer.add("stderr", ["warning: token=AbcSecret123"])
    writer.add("stdout", [*body[1:], end, "after the key"])
    summary = writer.close()
    path = tmp_path / "run-x.outputs" / "s-1.log.gz"
    lines = list(read_full_output(path))
    assert lines[0] == "start" and lines[-1] == "after the key"
    key_lines = [line for line in lines if line not in ("start", "after the key", lines[3])]
    assert lines[3] == "warning: token=[REDACTED]"  # stderr's batch, between stdout's two
    assert key_lines == [MASK] * len(PEM.split("\n"))
    assert summary.lines == len(lines) and summary.error is None
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert writer.close() == summary  # closing twice is harmless


async def test_a_step_without_output_has_no_side_file(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, BatchRemote([]))
    await engine.run_step("pre.server_accessible")
    assert engine.journal is not None
    finished = [r["event"] for r in read_journal(engine.journal.path)][-1]
    assert finished["type"] == "step_finished" and "output_file" not in finished
    assert not outputs_dir(engine.journal.path).exists()
    await engine.aclose()


async def test_an_unwritable_outputs_folder_is_recorded_not_fatal(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, BatchRemote(["one", "two"]))
    assert engine.journal is not None
    outputs_dir(engine.journal.path).write_text("in the way")  # a file where the folder goes
    outcome = await engine.run_step("pre.server_accessible")
    assert outcome.status == StepStatus.PASSED
    finished = [r["event"] for r in read_journal(engine.journal.path)][-1]
    assert finished["output_file"]["error"].startswith("cannot create the output file")
    assert engine.run.results["pre.server_accessible"].output_lines == 2
    await engine.aclose()
