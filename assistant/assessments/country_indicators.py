"""Country indicators: an optional CSV the user provides, shown with source and year.

Columns: `country_code, indicator, value, year, source, licence`, plus an optional
`country_name`. Lines starting with `#` are comments. The project ships only a fictional
example (`examples/country-indicators.example.csv`); it never ships scores for real
countries, because a score is only as good as its source and its licence.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("country_code", "indicator", "value", "year", "source", "licence")
_CODE = re.compile(r"^[A-Z]{2}$")


class IndicatorError(ValueError):
    """A country-indicator file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator for one country and year, with where it comes from."""

    country_code: str
    indicator: str
    value: str
    year: int
    source: str
    licence: str
    country_name: str = ""

    def describe(self) -> str:
        """One line for a reader: the value with its source, year and licence."""
        return f"{self.indicator}: {self.value} ({self.source}, {self.year}; {self.licence})"

    def to_dict(self) -> dict:
        return {"country_code": self.country_code, "indicator": self.indicator,
                "value": self.value, "year": self.year, "source": self.source,
                "licence": self.licence, "country_name": self.country_name}


@dataclass(frozen=True)
class CountryIndicators:
    """The validated rows of an indicator file."""

    rows: tuple[IndicatorValue, ...] = ()

    def for_country(self, code: str) -> tuple[IndicatorValue, ...]:
        """The latest value of each indicator for a country, sorted by indicator."""
        latest: dict[str, IndicatorValue] = {}
        for row in self.rows:
            if row.country_code == code.upper():
                kept = latest.get(row.indicator)
                if kept is None or row.year > kept.year:
                    latest[row.indicator] = row
        return tuple(latest[k] for k in sorted(latest))

    def name_of(self, code: str) -> str:
        """The country's name if the file gives one, else the code."""
        return next((r.country_name for r in self.rows
                     if r.country_code == code.upper() and r.country_name), code.upper())


def load_country_indicators(path: str | Path) -> CountryIndicators:
    """Read and validate an indicator CSV."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise IndicatorError(f"{path}: cannot read the indicator file ({exc.strerror})") from exc
    return parse_country_indicators(text, str(path))


def parse_country_indicators(text: str, origin: str = "<indicators>") -> CountryIndicators:
    """Validate indicator CSV text; `origin` names the file in error messages."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise IndicatorError(f"{origin}: no header line (expected {', '.join(COLUMNS)})")
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in lines)))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise IndicatorError(f"{origin}: missing column(s) {', '.join(missing)} "
                             f"(expected {', '.join(COLUMNS)})")
    rows, seen = [], set()
    for raw in reader:
        line_no = lines[reader.line_num - 1][0]  # the file's own line, comments included
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        value = _validate(row, f"{origin}, line {line_no}")
        key = (value.country_code, value.indicator, value.year)
        if key in seen:
            raise IndicatorError(f"{origin}, line {line_no}: duplicate {value.indicator} for "
                                 f"{value.country_code} in {value.year}")
        seen.add(key)
        rows.append(value)
    return CountryIndicators(tuple(rows))


def _validate(row: dict[str, str], where: str) -> IndicatorValue:
    code = row["country_code"].upper()
    if not _CODE.match(code):
        raise IndicatorError(f"{where}: country_code {row['country_code']!r} is not a "
                             "two-letter code")
    for column in ("indicator", "value", "source", "licence"):
        if not row[column]:
            raise IndicatorError(f"{where}: {column} is empty")
    try:
        year = int(row["year"])
    except ValueError:
        raise IndicatorError(f"{where}: year {row['year']!r} is not a year") from None
    if not 1900 <= year <= 2100:
        raise IndicatorError(f"{where}: year {year} is out of range")
    return IndicatorValue(code, row["indicator"], row["value"], year, row["source"],
                          row["licence"], row.get("country_name", ""))
