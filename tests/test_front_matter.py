"""Front matter is untrusted input: a YAML alias bomb is refused before it expands (checked with
a memory limit on the process that reads it), every field is type-checked and capped, and one
bad file is reported by name while the other files of the ingest go in.

The alias bomb is the one a red team used: nine lists, each holding the one before nine times,
so 389 bytes stand for 9^9 (387 million) strings once anything walks them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.documents import ParseError, parse_file
from tests.cli import hrdd_command

ROOT = Path(__file__).resolve().parent.parent
BODY = "\n# Supplier policy\n\n## 1. Scope\n\nEvery supplier respects the privacy of users.\n"
GOOD_FILES = sorted((ROOT / "corpus" / "case-studies").glob("*.md"))[:10]


def alias_bomb(levels: int = 9, field: str = "summary") -> str:
    lines = ["---", "title: Supplier policy",
             'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghijk"[:levels - 1]:
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    lines += [f"topics: *{previous}", f"{field}: *{previous}", "---"]
    return "\n".join(lines) + "\n" + BODY


def markdown(front_matter: str) -> bytes:
    return f"---\n{front_matter.strip()}\n---\n{BODY}".encode()


def parse(front_matter: str, name: str = "policy.md"):
    return parse_file(Path(name), markdown(front_matter))


# The child reads the file with its address space capped: a bomb that expands would raise
# MemoryError (or be killed) instead of taking the machine's memory.
BOUNDED_PARSE = r'''
import json, resource, sys
from pathlib import Path
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from ingest.documents import ParseError, parse_file
path = Path(sys.argv[1])
try:
    doc = parse_file(path, path.read_bytes())
    print(json.dumps({"outcome": "parsed", "topics": len(doc.topics), "summary": len(doc.summary)}))
except ParseError as err:
    print(json.dumps({"outcome": "refused", "reason": str(err)}))
except MemoryError:
    print(json.dumps({"outcome": "out of memory"}))
'''


@pytest.mark.parametrize("levels,field", [(9, "summary"), (5, "topics")],
                         ids=["bomb-389-bytes", "variant-that-grew-the-index"])
def test_an_alias_bomb_is_refused_within_a_memory_bound(tmp_path, levels, field):
    path = tmp_path / "bomb.md"
    path.write_text(alias_bomb(levels, field))
    assert len(path.read_text().split("---")[1].encode()) < 460
    limit = 1 << 30  # 1 GiB of address space for the whole child
    run = subprocess.run([sys.executable, "-c", BOUNDED_PARSE, str(path), str(limit)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert result == {"outcome": "refused", "reason": "front matter uses an anchor (&) at line 3; "
                      "YAML anchors and aliases are not allowed, write each value out"}


def test_an_alias_alone_is_refused_too():
    with pytest.raises(ParseError, match=r"an alias \(\*\) at line 3"):
        parse("title: x\ntopics: *nowhere")


@pytest.mark.parametrize("front_matter,message", [
    ("title: [a, b]", "'title' in front matter must be text, not a list"),
    ("title: {a: b}", "'title' in front matter must be text, not a mapping"),
    ("title: " + "x" * 301, "'title' in front matter is 301 characters; the limit is 300"),
    ("summary: " + "word " * 500, "'summary' in front matter is 2499 characters; the limit is 2000"),
    ("publisher: true", "'publisher' in front matter must be text, not true or false"),
    ("url: !!binary aGVsbG8=", "'url' in front matter must be text, not binary data"),
    ("topics: {a: b}", "'topics' in front matter must be a list, not a mapping"),
    ("topics: [" + ", ".join(f"t{i}" for i in range(31)) + "]",
     "'topics' in front matter has 31 topics; the limit is 30"),
    ("topics: [privacy, [a, b]]", "each of 'topics' in front matter must be a word or two, "
     "not a list"),
    ("topics: [" + "x" * 61 + "]", "a topic in front matter is 61 characters; the limit is 60"),
    ("year: twenty", "'year' in front matter must be a year like 2011, not 'twenty'"),
    ("year: [2011]", "'year' in front matter must be a year like 2011, not [2011]"),
    ("kind: memo", "unknown kind 'memo' in front matter"),
    ("notes: [a, b]", "'notes' in front matter must be a single value, not a list"),
    ("notes: " + "x" * 2001, "'notes' in front matter is 2001 characters; the limit is 2000"),
    ("\n".join(f"k{i}: v" for i in range(41)), "front matter has 41 keys; the limit is 40"),
    ("1: one", "front matter key 1 is not a name"),
    ("title: " + "[" * 5000 + "]" * 5000, "front matter is nested too deeply"),
    ("title: x\nsummary: " + "y" * 33_000, "front matter is over 32 kB"),
], ids=lambda v: v[:24] if isinstance(v, str) else v)
def test_each_field_is_type_checked_and_capped(front_matter, message):
    with pytest.raises(ParseError) as err:
        parse(front_matter)
    assert str(err.value).startswith(message)


def test_good_front_matter_is_read_with_its_questions():
    doc = parse("""
id: acme-policy
title: Acme supplier policy
kind: policy
topics: [privacy, partners, privacy]
year: "2021"
questions:
  "1": ["Who does the policy cover?", "Does it apply to resellers?"]
  '4.2': ["what if a   supplier says no"]
""")
    assert (doc.doc_id, doc.title, doc.kind, doc.year) == ("acme-policy", "Acme supplier policy",
                                                           "policy", 2021)
    assert doc.topics == ("privacy", "partners")
    assert doc.questions == {"1": ["Who does the policy cover?", "Does it apply to resellers?"],
                             "4.2": ["what if a supplier says no"]}


def test_the_sections_a_document_applies_are_read_in_order():
    doc = parse("title: Case\napplies: {shutdowns-content-restriction: ['4', 6], ungp: ['5.5'], "
                "gni-principles: []}")
    assert doc.applies == {"shutdowns-content-restriction": ["4", "6"], "ungp": ["5.5"],
                           "gni-principles": []}
    assert list(doc.applies) == ["shutdowns-content-restriction", "ungp", "gni-principles"]


@pytest.mark.parametrize("applies,message", [
    ("[ungp]", "'applies' in front matter must map document ids to lists of section numbers, "
     "not a list"),
    ("{'UNGP guide': ['4']}", "'applies' in front matter: 'UNGP guide' is not a document id"),
    ("{ungp: '4'}", "'applies' in front matter: ungp must have a list of at most 40 section "
     "numbers, not text"),
    ("{ungp: [5.5]}", "'applies' in front matter: ungp: 5.5 is not a section number"),
    ("{ungp: ['intro']}", "'applies' in front matter: ungp: 'intro' is not a section number"),
    ("{" + ", ".join(f"doc-{i}: ['1']" for i in range(9)) + "}",
     "'applies' in front matter names 9 documents; the limit is 8"),
], ids=lambda v: v[:30])
def test_bad_links_are_refused_naming_the_field(applies, message):
    refused_with("applies", applies, message)


def test_a_document_without_questions_has_none():
    assert parse("title: Acme").questions == {}
    assert parse_file(Path("plain.md"), BODY.encode()).questions == {}


def test_a_section_number_written_without_quotes_is_taken_when_it_is_whole():
    assert parse("questions:\n  3: ['Who answers for this?']").questions == {
        "3": ["Who answers for this?"]}


@pytest.mark.parametrize("questions,message", [
    ("[a, b]", "'questions' in front matter must map section numbers to lists of questions, "
     "not a list"),
    ("{intro: ['Who is covered?']}", "'questions' in front matter: 'intro' is not a section "
     "number like '4' or '4.2'"),
    ("{'123': ['Who is covered?']}", "'questions' in front matter: '123' is not a section number"),
    ("{'1.2.3': ['Who is covered?']}", "'questions' in front matter: '1.2.3' is not a section"),
    ("{4.2: ['Who is covered?']}", "'questions' in front matter: write the section number 4.2 in "
     "quotes ('4.2'); YAML reads it as a number"),
    ("{'1': 'Who is covered?'}", "'questions' in front matter: section 1 must have a list of "
     "questions, not text"),
    ("{'1': ['Who is covered?', 42]}", "'questions' in front matter: a question of section 1 "
     "is a number"),
    ("{'1': [ab]}", "'questions' in front matter: a question of section 1 is 2 characters; each "
     "must be text of 3 to 300 characters"),
    ("{'1': [" + "x" * 301 + "]}", "'questions' in front matter: a question of section 1 is 301 "
     "characters"),
    ("{'1': [[a, b]]}", "'questions' in front matter: a question of section 1 is a list"),
    ("{'1': [" + ", ".join(f"'Question {i}?'" for i in range(13)) + "]}",
     "'questions' in front matter: section 1 has 13 questions; the limit is 12"),
    ("{" + ", ".join(f"'{i}': ['Who?']" for i in range(41)) + "}",
     "'questions' in front matter has 41 sections; the limit is 40"),
], ids=lambda v: v[:30])
def test_bad_questions_are_refused_naming_the_field(questions, message):
    refused_with("questions", questions, message)


def refused_with(key: str, value: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(f"title: Acme\n{key}: {value}")
    assert str(err.value).startswith(message)


@pytest.mark.slow
def test_hrdd_ingest_reports_the_bomb_in_one_line_and_takes_the_other_ten(tmp_path):
    """The acceptance run: exit 1, one line naming the bomb and why, ten files in, peak memory
    under 1 GB (the child's address space is capped at 4 GiB, so a regression fails here
    instead of taking the machine's memory; loading the model alone reserves over 2 GiB)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bomb.md").write_text(alias_bomb())
    for f in GOOD_FILES:
        (docs / f.name).write_bytes(f.read_bytes())
    env = {**os.environ, "HRDD_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "100"}

    # Linux counts the memory of the process a child was forked from in the child's peak (the
    # high-water mark moves over at exec), and this test process may hold the suite's loaded
    # model. So a small interpreter forks `hrdd` itself, caps it, and reports its peak.
    measure = ("import os, resource, sys\n"
               "pid = os.fork()\n"
               "if pid == 0:\n"
               "    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
               "    os.execv(sys.argv[2], sys.argv[2:])\n"
               "_, status, usage = os.wait4(pid, 0)\n"
               "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
               "sys.exit(os.waitstatus_to_exitcode(status))\n")
    peak_file = tmp_path / "peak-kb"
    out_file, err_file = tmp_path / "stdout", tmp_path / "stderr"
    with out_file.open("w") as out, err_file.open("w") as errors:
        proc = subprocess.run([sys.executable, "-c", measure, str(peak_file), *hrdd_command(),
                               "ingest", str(docs)], cwd=tmp_path, env=env, stdout=out,
                              stderr=errors, timeout=600)
    err = err_file.read_text()
    peak_mb = int(peak_file.read_text()) / 1024
    assert proc.returncode == 1, err[-3000:]
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "bomb.md" in ln]
    assert lines == [f"Not added: {docs / 'bomb.md'}: front matter uses an anchor (&) at line 3; "
                     "YAML anchors and aliases are not allowed, write each value out"]
    listed = subprocess.run([*hrdd_command(), "library", "list", "--json"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert len(json.loads(listed.stdout)) == 10
    assert peak_mb < 1024, f"peak memory {peak_mb:.0f} MB"

