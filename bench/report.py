"""Figures measured by a benchmark, each beside its limit, and their rendering as a table."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One measured value beside its limit.

    ``ratio`` is value / limit. ``target`` is the largest ratio that passes (None: reported
    only, no target); a figure with a target gates the benchmark's exit code.
    """

    case: str
    measure: str
    value: float
    limit: float
    unit: str
    target: float | None = None

    @property
    def ratio(self) -> float:
        return self.value / self.limit if self.limit else float("inf")

    @property
    def met(self) -> bool:
        return self.target is None or self.ratio <= self.target

    def verdict(self) -> str:
        if self.target is None:
            return "info"
        return "ok" if self.met else "MISSED"


@dataclass
class Report:
    """What one benchmark measured: its figures, how it ran, and what it found."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        return figure

    def find(self, case: str, measure: str) -> Figure:
        """The figure for ``case`` and ``measure``. Raises KeyError if there is none."""
        for figure in self.figures:
            if (figure.case, figure.measure) == (case, measure):
                return figure
        raise KeyError(f"{case}: {measure}")

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if not f.met]

    def render(self) -> str:
        """The report as text: settings, a table of figures with ratios, notes."""
        lines = [f"== {self.title} ({self.name})"]
        lines += [f"   {key}: {value}" for key, value in self.settings.items()]
        header = ("case", "measure", "value", "limit", "ratio", "target", "")
        rows = [header] + [
            (f.case, f.measure, _number(f.value, f.unit), _number(f.limit, f.unit),
             f"{f.ratio:.2f}", "-" if f.target is None else f"<= {f.target:g}", f.verdict())
            for f in self.figures
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [cell.ljust(width) if i < 2 else cell.rjust(width)
                     for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
            lines.append("   " + "  ".join(cells).rstrip())
        lines += [f"   * {note}" for note in self.notes]
        return "\n".join(lines)


def _number(value: float, unit: str) -> str:
    if unit == "calls":
        return f"{value:,.0f} calls"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:g} {unit}"
