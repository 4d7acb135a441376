"""Errors a user can fix; the CLI prints them as one line."""


class UserError(Exception):
    """A bad argument, file or setting, described in one line."""
