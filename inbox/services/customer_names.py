"""How a customer is named on screen and in reply templates: their name, else their address,
and never a mall's internal id.

Mall channels store a customer whose mall gives no name under an internal address such as
``yahoo:<seller>:<masked id>``. Such an address is shown as 「お客様（…2c9d）」 (its last four
characters; the web layer translates the words) and a reply template's ``{customer_name}``
becomes お客様. Knows nothing of HTTP or of templates' markup.
"""

from __future__ import annotations

from dataclasses import dataclass

MALL_ID_PREFIXES = ("yahoo:", "rakuten:")  # addresses made up by inbox.sources.yahoo / rakuten
TAIL = 4  # characters of the masked id shown to tell customers apart
# What {customer_name} becomes for a mall customer without a name: the reply's language (mall
# customers are addressed in Japanese), not the agent's screen language.
ANONYMOUS_IN_REPLIES = "お客様"


def is_mall_id(address: str | None) -> bool:
    """True when ``address`` is a mall's internal customer id, not something to show."""
    return bool(address) and address.strip().lower().startswith(MALL_ID_PREFIXES)


def id_tail(address: str | None) -> str:
    """The last characters of a mall id's masked part ("yahoo:s:yu-2c9d" -> "2c9d"); "" if none."""
    if not is_mall_id(address):
        return ""
    masked = address.strip().rsplit(":", 1)[-1]
    return "".join(ch for ch in masked if ch.isalnum())[-TAIL:]


@dataclass(frozen=True)
class ShownName:
    """What to show: ``name`` when known; otherwise ``tail`` (a mall customer) or ``address``."""

    name: str
    tail: str
    address: str  # "" for a mall id: never shown

    @property
    def anonymous(self) -> bool:
        return not self.name and not self.address


def shown(name: str | None, address: str | None) -> ShownName:
    name = (name or "").strip()
    if is_mall_id(address):
        return ShownName(name, id_tail(address), "")
    return ShownName(name, "", (address or "").strip())


def for_replies(name: str | None, address: str | None) -> str:
    """The ``{customer_name}`` of a reply: the name, else the address, else お客様 for a mall customer."""
    who = shown(name, address)
    return who.name or who.address or ANONYMOUS_IN_REPLIES


def in_alert_mail(address: str | None) -> str:
    """A recipient as the team's bilingual alert mails name it: the address, or
    「お客様 / Customer (…2c9d)」 for a mall's internal id."""
    if not is_mall_id(address):
        return (address or "").strip()
    tail = id_tail(address)
    return f"お客様 / Customer (…{tail})" if tail else "お客様 / Customer"
