"""Run a whole assessment from an answers file, without prompts (`hrdd assess run`).

An answers file is YAML:

    playbook: export-deal              # a playbook id
    deal: Core network upgrade for Borduria Telecom
    assessor: Alex Example
    summary: One paragraph on the deal  # optional
    country_indicators: ../country-indicators.example.csv  # optional, relative to this file
    answers: {intended_use: network-operations, destination: XB, ...}
    overrides: {purchaser: {risk: high, reason: "..."}}    # optional
    mitigations: [hr-clause, demands-protocol]              # optional
    mitigable: {product: {value: false, reason: "..."}}     # optional
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.answer import Citation
from assistant.assessments.assessment import Assessment, start_assessment
from assistant.assessments.country_indicators import CountryIndicators, load_country_indicators
from assistant.assessments.playbook import PLAYBOOKS_DIR, find_playbook

_KEYS = {"playbook", "deal", "assessor", "summary", "country_indicators", "answers",
         "overrides", "mitigations", "mitigable"}


@dataclass(frozen=True)
class Script:
    """An answers file, read and checked for shape (the answers are checked when applied)."""

    path: Path
    playbook_id: str
    deal: str
    assessor: str
    summary: str = ""
    indicators_path: Path | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, dict] = field(default_factory=dict)
    mitigations: tuple[str, ...] = ()
    mitigable: dict[str, dict] = field(default_factory=dict)


def read_script(path: str | Path) -> Script:
    """Read an answers file; errors name the file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the answers file ({exc})") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an answers file must be a mapping of keys to values")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        allowed = ", ".join(sorted(_KEYS))
        raise ValueError(f"{path}: unknown key {unknown[0]!r} (allowed: {allowed})")
    for key in ("playbook", "deal", "assessor"):
        if not data.get(key):
            raise ValueError(f"{path}: no {key!r} given")
    for key in ("answers", "overrides", "mitigable"):
        if not isinstance(data.get(key) or {}, dict):
            raise ValueError(f"{path}: {key!r} must be a mapping")
        for name, value in (data.get(key) or {}).items():
            if key != "answers" and not (isinstance(value, dict) and "reason" in value):
                raise ValueError(f"{path}: {key} of {name!r} needs a value and a reason")
    if not isinstance(data.get("mitigations") or [], list):
        raise ValueError(f"{path}: 'mitigations' must be a list of mitigation ids")
    indicators = data.get("country_indicators")
    return Script(path, str(data["playbook"]), str(data["deal"]), str(data["assessor"]),
                  str(data.get("summary") or ""),
                  (path.parent / indicators) if indicators else None,
                  dict(data.get("answers") or {}), dict(data.get("overrides") or {}),
                  tuple(str(m) for m in data.get("mitigations") or []),
                  dict(data.get("mitigable") or {}))


def start_from_script(script: Script, playbooks: str | Path = PLAYBOOKS_DIR) -> Assessment:
    """The empty session the script will fill in."""
    try:
        return start_assessment(find_playbook(script.playbook_id, playbooks), script.deal,
                                script.assessor, script.summary)
    except ValueError as exc:
        raise ValueError(f"{script.path}: {exc}") from exc


def apply_script(script: Script, assessment: Assessment,
                 find_guidance: Callable[[str], Sequence[Citation]],
                 indicators: CountryIndicators | None = None) -> Assessment:
    """Apply the script's answers, overrides and mitigations, then fetch each step's guidance.

    Indicators passed in (say, from the settings) win over the file's `country_indicators`.
    """
    if indicators is None and script.indicators_path is not None:
        indicators = load_country_indicators(script.indicators_path)
    try:
        for question_id, value in script.answers.items():
            if isinstance(value, bool):  # YAML reads an unquoted yes or no as a boolean
                value = "yes" if value else "no"
            assessment = assessment.answer(str(question_id), value, indicators)
        for dimension_id, item in script.overrides.items():
            assessment = assessment.override(dimension_id, item.get("risk", ""), item["reason"])
        assessment = assessment.choose_mitigations(script.mitigations)
        for dimension_id, item in script.mitigable.items():
            assessment = assessment.set_mitigable(dimension_id, item.get("value"),
                                                  item["reason"])
    except ValueError as exc:
        raise ValueError(f"{script.path}: {exc}") from exc
    return assessment.fetch_guidance(find_guidance)


def run_script(path: str | Path, find_guidance: Callable[[str], Sequence[Citation]],
               indicators: CountryIndicators | None = None,
               playbooks: str | Path = PLAYBOOKS_DIR) -> Assessment:
    """Read an answers file and run the whole session it describes."""
    script = read_script(path)
    return apply_script(script, start_from_script(script, playbooks), find_guidance, indicators)
