"""Domain errors raised by the services; the web layer and CLI translate them once."""


class InboxError(Exception):
    """Base class: the message is plain language, safe to show to the user."""


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
