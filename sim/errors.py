"""The one base of every error a user can cause: told in one line, no traceback, its exit code."""

from __future__ import annotations


class NegsimError(Exception):
    """Something the user can fix (bad input, an unusable folder or address): exit code 2."""

    code = 2


class Stopped(NegsimError):
    """Work stopped before its end (a failed chunk, a full disk, a lost cluster); what was
    finished is kept for resuming: exit code 1."""

    code = 1
