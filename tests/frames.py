"""DataFrame views of the engine's records, for tests that compare tables (the product itself works on
plain records and never imports pandas)."""
from __future__ import annotations

import pandas as pd

from bulletin.core.intake import META_COLUMNS


def _columns(spec) -> list[str]:
    return [*META_COLUMNS, *(c.name for c in spec.value_columns)]


def rows(table) -> pd.DataFrame:
    """An AnnexInput's or AnnexResult's records (numbers as numbers, NaN for blank)."""
    frame = pd.DataFrame(table.records, columns=_columns(table.spec))
    for col in table.spec.value_columns:
        if col.is_numeric:
            frame[col.name] = pd.to_numeric(frame[col.name], errors="coerce")
    return frame


def departments(result) -> pd.DataFrame:
    """An AnnexResult's department rows in printed order."""
    return pd.DataFrame(result.ordered, columns=_columns(result.spec))


def changes(comparison) -> pd.DataFrame:
    from bulletin.core.compare import CHANGE_COLUMNS

    return pd.DataFrame(comparison.records, columns=list(CHANGE_COLUMNS))
