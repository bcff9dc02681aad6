"""The data folder: private to its owner (0700, files 0600), a warning when an existing one is
open to others, and a full disk said in one line, with nothing half-written left behind.

The full disk is real: the commands run in a mount namespace of their own (`unshare`) with
a small tmpfs mounted over the data folder, then the tmpfs is grown to show the recovery.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.composition import Library
from assistant.datadir import append_line
from assistant.settings import Limits
from ingest.pipeline import ingest
from ingest.uploads import save_upload
from tests.cli import hrdd, hrdd_command, succeeded
from tests.processes import unavailable

ROOT = Path(__file__).resolve().parent.parent
GUIDANCE = ROOT / "corpus" / "guidance"
LIMITS = Limits(max_file_mb=50, max_pages=2000, parse_seconds=60, max_question_chars=4000)
GUIDE = b"# Supplier code\n\nEvery installer signs the supplier code of conduct first.\n"


def mode(path: Path) -> str:
    return stat.filemode(path.stat().st_mode)


def test_a_new_data_folder_and_its_session_file_are_private(tmp_path):
    data = tmp_path / "lab" / "data"
    succeeded(hrdd(["assess", "list"], data, tmp_path))
    assert mode(data) == "drwx------"
    assert mode(data / "sessions.sqlite") == "-rw-------"


def test_uploads_and_feedback_are_private(tmp_path):
    saved = save_upload(tmp_path / "data", "Supplier code.md", GUIDE, LIMITS)
    assert (mode(tmp_path / "data"), mode(saved.path.parent), mode(saved.path)) == (
        "drwx------", "drwx------", "-rw-------")
    append_line(tmp_path / "data" / "feedback.jsonl", '{"rating": "up"}')
    assert mode(tmp_path / "data" / "feedback.jsonl") == "-rw-------"


@pytest.mark.slow
def test_the_library_folder_made_by_an_ingest_is_private(make_settings, embedder, tmp_path):
    settings = make_settings(data_dir=tmp_path / "new" / "data")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "code.md").write_bytes(GUIDE)
    ingest(Library(settings, embedder=embedder), [tmp_path / "docs"])
    assert mode(settings.data_dir) == "drwx------"
    assert mode(tmp_path / "new") == "drwx------"  # made here too: nothing of it is public


def test_a_data_folder_open_to_others_is_warned_about_at_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    (data / "feedback.jsonl").write_text("")
    (data / "feedback.jsonl").chmod(0o644)
    env = {**os.environ, "HRDD_DATA_DIR": str(data)}
    run = subprocess.run([*hrdd_command(), "assess", "list"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    warnings = [ln for ln in run.stderr.splitlines() if ln.startswith("Warning:")]
    assert warnings == [
        f"Warning: The data folder {data} can be read by other users on this machine "
        "(drwxr-xr-x); it holds questions, deal sessions and documents. Make it private: "
        f"chmod -R go-rwx {data}",
        f"Warning: The file {data / 'feedback.jsonl'} can be read by other users on this "
        "machine (-rw-r--r--); it holds questions, deal sessions and documents. Make it "
        f"private: chmod 600 {data / 'feedback.jsonl'}"]
    assert mode(data) == "drwxr-xr-x", "an existing folder is warned about, not changed"

    subprocess.run(["chmod", "-R", "go-rwx", str(data)], check=True)
    quiet = subprocess.run([*hrdd_command(), "assess", "list"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert "Warning" not in quiet.stderr


# ----- a full disk


def namespace() -> list[str]:
    """The command prefix for a mount namespace of our own, or a skip saying why not."""
    prefix = ["unshare", "--mount"] if os.geteuid() == 0 else [
        "unshare", "--user", "--map-root-user", "--mount"]
    if not shutil.which("unshare"):
        unavailable("unshare (util-linux) is not installed")
    probe = subprocess.run([*prefix, "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        unavailable(f"cannot mount a tmpfs in a mount namespace here: {probe.stderr.strip()}")
    return prefix


def on_small_disk(data: Path, script: str, size: str = "3m") -> None:
    """Run the shell `script` with a `size` tmpfs over `data`; $DATA names it."""
    data.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([*namespace(), "sh", "-c",
                          f'mount -t tmpfs -o size={size},mode=0700 tmpfs "$DATA" && {script}'],
                         env={**os.environ, "DATA": str(data), "HRDD_DATA_DIR": str(data),
                              "COLUMNS": "120"},
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.mark.slow
def test_ingest_on_a_full_disk_says_so_in_one_line_and_recovers_once_there_is_room(tmp_path):
    data, out = tmp_path / "data", tmp_path / "out"
    out.mkdir()
    hrdd_ = " ".join(hrdd_command())
    on_small_disk(data, f"""
        {hrdd_} ingest {GUIDANCE} > {out}/1.out 2> {out}/1.err; echo $? > {out}/1.rc
        ls -A "$DATA" > {out}/1.ls
        mount -o remount,size=300m "$DATA"
        {hrdd_} ingest --json {GUIDANCE} > {out}/2.out 2> {out}/2.err; echo $? > {out}/2.rc
        {hrdd_} library list --json > {out}/list.json
    """)
    err = (out / "1.err").read_text()
    assert (out / "1.rc").read_text().strip() == "2", err[-3000:]
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and "Loading weights" not in ln]
    assert len(lines) == 1 and lines[0].startswith(f"Error: no space left on {data} ("), lines
    assert lines[0].endswith(" free)")
    assert (out / "2.rc").read_text().strip() == "0", (out / "2.err").read_text()[-3000:]
    added = {json.loads(ln)["outcome"] for ln in (out / "2.out").read_text().splitlines()}
    assert added <= {"added", "unchanged", "updated"}
    listed = json.loads((out / "list.json").read_text())
    assert len(listed) == len(list(GUIDANCE.glob("*.md")))


FULL_DISK_WRITES = r'''
import json, os, sys
from pathlib import Path
from assistant.datadir import DiskFull, append_line
from assistant.settings import Limits
from ingest.uploads import UnsafeUpload, save_upload

data = Path(os.environ["DATA"])
feedback = data / "feedback.jsonl"
append_line(feedback, json.dumps({"rating": "up"}))
fd = os.open(data / "filler", os.O_CREAT | os.O_WRONLY, 0o600)  # fill the disk
try:
    while os.write(fd, b"\0" * 4096):
        pass
except OSError:
    pass
os.close(fd)
result = {}
try:
    save_upload(data, "Policy.md", b"# Policy\n\n" + b"Every sale is checked. " * 20000,
                Limits(50, 2000, 60, 4000))
except UnsafeUpload as err:
    result["upload"] = str(err)
try:
    append_line(feedback, json.dumps({"rating": "down", "comment": "x" * 200000}))
except DiskFull as err:
    result["feedback"] = str(err)
result["files"] = sorted(p.name for p in data.rglob("*"))
result["feedback_text"] = feedback.read_text()
print(json.dumps(result))
'''


@pytest.mark.slow
def test_an_upload_and_feedback_on_a_full_disk_say_so_and_leave_nothing_half_written(tmp_path):
    data, out = tmp_path / "data", tmp_path / "writes.json"
    script = tmp_path / "writes.py"
    script.write_text(FULL_DISK_WRITES)
    on_small_disk(data, f"cd {ROOT} && {sys.executable} {script} > {out}", size="256k")
    result = json.loads(out.read_text())
    assert result["upload"].startswith(f"no space left on {data / 'uploads'} (")
    assert result["feedback"].startswith(f"no space left on {data / 'feedback.jsonl'} (")
    assert result["files"] == ["feedback.jsonl", "filler", "uploads"], "a temp file was left"
    assert result["feedback_text"] == '{"rating": "up"}\n', "half a line was left"

