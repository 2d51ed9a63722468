"""Write a file atomically: a temporary file in the same folder, renamed over the target."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text(target: Path, text: str) -> Path:
    """Write `text` to `target` (readable by all: results and reports are meant to be shared); an error names the
    target, not the temporary file."""
    tmp: str | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)  # mkstemp makes it private
        Path(tmp).replace(target)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    finally:
        if tmp is not None and Path(tmp).exists():
            Path(tmp).unlink(missing_ok=True)
    return target
