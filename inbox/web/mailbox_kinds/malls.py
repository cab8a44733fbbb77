"""Loads the mall channel forms (Rakuten, Yahoo!), which live in ``inbox.web.mall_channels``."""

import inbox.web.mall_channels  # noqa: F401
