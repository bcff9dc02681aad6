"""Playbooks: the shipped ones load; a broken one fails naming file, step and problem."""

import copy

import pytest
import yaml

from assistant.assessments.decision import Risk
from assistant.assessments.playbook import (
    PlaybookError,
    find_playbook,
    list_playbooks,
    load_playbook,
)

VALID = {
    "id": "mini",
    "title": "Mini playbook",
    "dimensions": [{"id": "purpose", "title": "Purpose"}, {"id": "place", "title": "Place"}],
    "steps": [
        {"id": "use", "title": "Use", "rates": "purpose", "guidance_query": "intended use",
         "questions": [{"id": "what", "type": "choice", "text": "What for?", "options": [
             {"value": "safe", "risk": "low"},
             {"value": "spying", "risk": "high", "red_flags": ["Built to spy."]}]}],
         "mitigations": [{"id": "limit", "text": "Remove the spying module."}]},
        {"id": "where", "title": "Where", "rates": "place", "guidance_query": "country",
         "questions": [{"id": "free", "type": "yesno", "text": "Free country?", "options": [
             {"value": "yes", "risk": "low"}, {"value": "no", "risk": "high"}]}]},
        {"id": "contract", "title": "Contract", "rates": "none", "guidance_query": "clauses",
         "questions": [{"id": "clause", "type": "yesno", "text": "Clause accepted?",
                        "options": [{"value": "yes"},
                                    {"value": "no", "red_flags": ["Clause refused."]}]}],
         "mitigations": [{"id": "hr-clause", "text": "Human-rights clause.",
                          "mitigates": ["purpose", "place"]}]},
    ],
}


def write(tmp_path, data, name="mini.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def broken(change):
    data = copy.deepcopy(VALID)
    change(data)
    return data


def test_the_shipped_playbooks_load_and_declare_their_dimensions():
    playbooks = {p.id: p for p in list_playbooks()}
    assert set(playbooks) == {"export-deal", "meeting-venue", "staff-posting"}
    deal = playbooks["export-deal"]
    assert [d.id for d in deal.dimensions] == ["purpose", "place", "product", "purchaser"]
    assert len(playbooks["meeting-venue"].dimensions) == 6
    assert all(s.guidance_query for p in playbooks.values() for s in p.steps)


def test_export_deal_partners_count_towards_the_purchaser_and_contracts_rate_nothing():
    deal = find_playbook("export-deal")
    steps = {s.id: s for s in deal.steps}
    assert steps["partners"].rates == "purchaser"
    assert steps["contracts"].rates is None
    assert all(o.risk is None for q in steps["contracts"].questions for o in q.options)
    assert {d for m in steps["contracts"].mitigations for d in m.mitigates} >= {"purpose",
                                                                               "purchaser"}


def test_a_valid_playbook_loads_into_records(tmp_path):
    playbook = load_playbook(write(tmp_path, VALID))
    assert playbook.question("what").option("spying").risk is Risk.HIGH
    assert playbook.question("what").option("spying").red_flags == ("Built to spy.",)
    assert playbook.mitigations[0].mitigates == ("purpose",)  # defaults to the step's dimension
    assert playbook.step_of("clause").rates is None


def test_unquoted_yes_and_no_in_yaml_are_read_as_answers_not_booleans(tmp_path):
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(VALID).replace("value: 'yes'", "value: yes")
                    .replace("value: 'no'", "value: no"), encoding="utf-8")
    assert "value: yes" in path.read_text()
    question = load_playbook(path).question("free")
    assert [o.value for o in question.options] == ["yes", "no"]


def _set(data, path, value):
    *keys, last = path
    for key in keys:
        data = data[key]
    data[last] = value


def _drop(data, path):
    *keys, last = path
    for key in keys:
        data = data[key]
    del data[last]


CASES = [
    ("unknown question type", lambda d: _set(d, ["steps", 0, "questions", 0, "type"], "multi"),
     "step 'use'", "unknown type 'multi'"),
    ("option without risk", lambda d: _drop(d, ["steps", 1, "questions", 0, "options", 1, "risk"]),
     "step 'where'", "option 'no' of question 'free' has no risk"),
    ("unknown risk level", lambda d: _set(d, ["steps", 0, "questions", 0, "options", 0, "risk"],
                                          "severe"),
     "step 'use'", "unknown risk 'severe'"),
    ("missing guidance query", lambda d: _drop(d, ["steps", 1, "guidance_query"]),
     "step 'where'", "no 'guidance_query'"),
    ("unknown dimension", lambda d: _set(d, ["steps", 1, "rates"], "plaice"),
     "step 'where'", "unknown dimension 'plaice'"),
    ("duplicate step id", lambda d: _set(d, ["steps", 1, "id"], "use"),
     "step 'use'", "duplicate step id 'use'"),
    ("duplicate question id", lambda d: _set(d, ["steps", 1, "questions", 0, "id"], "what"),
     "step 'where'", "duplicate question id 'what'"),
    ("duplicate mitigation id", lambda d: _set(d, ["steps", 2, "mitigations", 0, "id"], "limit"),
     "step 'contract'", "duplicate mitigation id 'limit'"),
    ("yesno without no", lambda d: _set(d, ["steps", 1, "questions", 0, "options", 1, "value"],
                                        "maybe"),
     "step 'where'", "exactly the options 'yes' and 'no'"),
    ("choice with one option", lambda d: d["steps"][0]["questions"][0]["options"].pop(),
     "step 'use'", "fewer than two options"),
    ("risk in a step that rates nothing",
     lambda d: _set(d, ["steps", 2, "questions", 0, "options", 1, "risk"], "high"),
     "step 'contract'", "the step rates no dimension"),
    ("mitigation of an unknown dimension",
     lambda d: _set(d, ["steps", 2, "mitigations", 0, "mitigates"], ["purse"]),
     "step 'contract'", "mitigates unknown dimension 'purse'"),
    ("misspelt key", lambda d: _set(d, ["steps", 0, "guidance_querry"], "typo"),
     "step 'use'", "unknown key 'guidance_querry'"),
    ("options on a text question",
     lambda d: _set(d, ["steps", 0, "questions", 0, "type"], "text"),
     "step 'use'", "is text and cannot have options"),
]


@pytest.mark.parametrize(("change", "step", "problem"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_an_invalid_playbook_names_the_file_the_step_and_the_problem(tmp_path, change, step,
                                                                     problem):
    path = write(tmp_path, broken(change))
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    message = str(caught.value)
    assert str(path) in message
    assert step in message
    assert problem in message


def test_a_dimension_that_no_step_rates_is_refused(tmp_path):
    path = write(tmp_path, broken(lambda d: d["dimensions"].append({"id": "product",
                                                                   "title": "Product"})))
    with pytest.raises(PlaybookError, match="dimension 'product' is rated by no step"):
        load_playbook(path)


def test_broken_yaml_and_missing_files_are_reported_with_the_file_name(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nsteps: [unclosed\n", encoding="utf-8")
    with pytest.raises(PlaybookError, match="bad.yaml: not valid YAML"):
        load_playbook(bad)
    with pytest.raises(PlaybookError, match="missing.yaml: cannot read"):
        load_playbook(tmp_path / "missing.yaml")


def test_one_broken_playbook_in_a_folder_is_named_when_listing(tmp_path):
    write(tmp_path, VALID, "good.yaml")
    write(tmp_path, broken(lambda d: _drop(d, ["steps", 0, "guidance_query"])), "broken.yaml")
    with pytest.raises(PlaybookError, match="broken.yaml: step 'use'"):
        list_playbooks(tmp_path)


def test_an_unknown_playbook_id_lists_the_available_ones(tmp_path):
    write(tmp_path, VALID)
    with pytest.raises(PlaybookError, match=r"no playbook with id 'deal' \(available: mini\)"):
        find_playbook("deal", tmp_path)
