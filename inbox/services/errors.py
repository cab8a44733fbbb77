"""Domain errors raised by the services; the web layer and CLI translate them once."""


class InboxError(Exception):
    """Base class: the message is plain language, safe to show to the user.

    Raise with a message id and its values apart, ``InvalidInput("Unknown pick %(pick)s.",
    pick=pick)``, so the web layer can translate it (``inbox.web.errors.translated``);
    ``str(error)`` is the English text with the values filled in.
    """

    def __init__(self, message: str = "", /, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)


class Term(str):
    """A value of a message that is itself a message id (a weekday, a role): shown translated."""


class NotFound(InboxError):
    """The thing does not exist, or the user may not see it (the two are not told apart)."""


class PermissionDenied(InboxError):
    """The user may see the thing but not do this to it."""


class InvalidInput(InboxError):
    """The request does not make sense; the message says why."""


class LoginThrottled(InboxError):
    """Too many failed log-ins for this address or network address."""


class InvalidCredentials(InboxError):
    """Wrong address or password, or the account is disabled."""


class ConcurrentChange(InboxError):
    """Someone else changed the thing since it was read (optimistic version check)."""


class PasswordLoginDisabled(InboxError):
    """The user (or the whole installation) logs in through single sign-on only."""


class SsoRefused(InboxError):
    """A single sign-on log-in was refused; ``reason`` is a short code for the audit log."""

    def __init__(self, reason: str, message: str, /, **params: object) -> None:
        super().__init__(message, **params)
        self.reason = reason


class InvalidInputs(InvalidInput):
    """Several problems with one form at once; ``problems`` are shown one by one."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        super().__init__("%(problems)s", problems="; ".join(str(p) for p in problems))
        self.problems = list(problems)
