"""Filer identity across renames: every name a filer used, tied together (migration 0016).

A filer renames itself (原主体名称“X”变更为“Y”) and CAC re-issues old lists with the new name, while
other lists keep the old one. One row per name a filer used; names of one filer share
``filer_key``. Derived from the filings, their remarks and their history
(``storage.filer_identity.rebuild_filer_names``), so it can always be built again from them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base

__all__ = ["FilerName"]


class FilerName(Base):
    __tablename__ = "filer_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    # As listed (or as a remark quotes it): one row per spelling, so that filings join on entity.
    name: Mapped[str] = mapped_column(String(500), unique=True)
    # NFKC, whitespace removed: how names are compared (a remark may quote a name with other spacing).
    folded: Mapped[str] = mapped_column(String(500), index=True)
    # "id:EEEEEEE" (the filer id of its 网信算备 numbers) or "name:<folded current name>" when none.
    filer_key: Mapped[str] = mapped_column(String(520), index=True)
    first_month: Mapped[str | None] = mapped_column(String(7))  # first list the name was listed in
    last_month: Mapped[str | None] = mapped_column(String(7))  # newest list holding it (or its rename)
    filings: Mapped[int] = mapped_column(Integer, default=0)  # filings listed under it now
    current: Mapped[bool] = mapped_column(default=False)  # the filer's current name
    renamed_to: Mapped[str | None] = mapped_column(Text)
    renamed_month: Mapped[str | None] = mapped_column(String(7))  # list month that says so
    renamed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # when cacwatch saw it
    # How the name was tied to its filer: "number" (filer id), "remark", "history" (a re-issue).
    evidence: Mapped[list[Any]] = mapped_column(default=list)
