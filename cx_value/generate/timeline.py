"""The simulated calendar: history, acquisition period and the 12-month outcome window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from cx_value.generate.text import DAY


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _shift_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover


def epoch_seconds(day: date) -> int:
    """Midnight UTC of ``day`` in seconds since the epoch."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Timeline:
    """Key instants of one generation, as dates and as epoch seconds (UTC midnight).

    History is ``[history_start, end)``, ``end`` being midnight at the start of ``as_of``;
    the outcome window is ``[window_start, end)``; the relationship survey is sent at
    ``survey_date`` (one month before the window).
    """

    as_of: date
    history_start: date
    acquisition_end: date
    window_start: date
    survey_date: date

    @classmethod
    def build(cls, as_of: date, history_years: int, acquisition_years: float) -> Timeline:
        """The calendar ending at ``as_of``."""
        start = _shift_years(as_of, -history_years)
        window_start = _shift_months(as_of, -12)
        return cls(
            as_of=as_of,
            history_start=start,
            acquisition_end=start + timedelta(days=round(acquisition_years * 365.25)),
            window_start=window_start,
            survey_date=_shift_months(window_start, -1),
        )

    @property
    def start_s(self) -> int:
        return epoch_seconds(self.history_start)

    @property
    def end_s(self) -> int:
        return epoch_seconds(self.as_of)

    @property
    def acquisition_end_s(self) -> int:
        return epoch_seconds(self.acquisition_end)

    @property
    def window_start_s(self) -> int:
        return epoch_seconds(self.window_start)

    @property
    def survey_s(self) -> int:
        return epoch_seconds(self.survey_date)

    @property
    def export_cap_s(self) -> int:
        """Latest export time of live data: one day after the end of history."""
        return self.end_s + DAY

    def as_dict(self) -> dict[str, str]:
        """The calendar for truth.json."""
        return {
            "as_of": self.as_of.isoformat(),
            "history_start": self.history_start.isoformat(),
            "history_end_exclusive": self.as_of.isoformat(),
            "acquisition_end": self.acquisition_end.isoformat(),
            "outcome_window_start": self.window_start.isoformat(),
            "outcome_window_end_exclusive": self.as_of.isoformat(),
            "relationship_survey_sent": self.survey_date.isoformat(),
        }
