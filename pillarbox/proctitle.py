"""Process titles that tell an admin what each process is doing (ps, top)."""

from __future__ import annotations

try:
    from setproctitle import setproctitle as _setproctitle
except ImportError:  # pragma: no cover - setproctitle is a hard dependency
    def _setproctitle(title: str) -> None:
        pass

_last = ""


def set_title(service: str, *parts: str | None) -> None:
    """Set the title to "service: part part ...", skipping empty parts."""
    global _last
    title = service + ": " + " ".join(p for p in parts if p)
    if title != _last:
        _last = title
        _setproctitle(title)
