"""Write a file atomically: a temporary file in the same folder, renamed over the target."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_text(target: Path, text: str) -> Path:
    """Write `text` to `target` (readable by all: results and reports are meant to be shared); an error names the
    target, not the temporary file.

    A regular file (or a new one) is replaced atomically; through a symbolic link, the file it points to is. Anything
    else (/dev/stdout, a named pipe, a device) is written to as it is: a rename would put a plain file in its place.
    """
    tmp: str | None = None
    try:
        real = target.resolve() if target.is_symlink() else target
        if real.exists() and not stat.S_ISREG(real.stat().st_mode):
            with real.open("w", encoding="utf-8") as fh:
                fh.write(text)
            return target
        if real.parent.exists() and not real.parent.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(real.parent))
        real.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{real.stem}-", suffix=real.suffix, dir=real.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)  # mkstemp makes it private
        Path(tmp).replace(real)
    except OSError as exc:
        where = exc.filename if isinstance(exc, NotADirectoryError) else str(target)
        raise OSError(exc.errno, exc.strerror, where) from None
    finally:
        if tmp is not None and Path(tmp).exists():
            Path(tmp).unlink(missing_ok=True)
    return target
