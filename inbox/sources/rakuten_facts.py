"""Rakuten RMS R-Messe (問い合わせ管理API) facts in one place: endpoints, limits, formats, error codes.

Each constant says how it is known (see /work/shared/recipes/ec-mall-apis.md §1):
[V-doc] official page, [V-code] public code that calls the API, [UNVERIFIED] our guess.
Change an UNVERIFIED fact here and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

BASE_URL = "https://api.rms.rakuten.co.jp/es/1.0/inquirymng-api/"  # [V-doc]
# [V-code] JakeJP LicenseManagementAPI.cs; response {"expiryDate": "2026-11-28T23:59:59"} (JST, no offset)
LICENSE_EXPIRY_URL = (
    "https://api.rms.rakuten.co.jp/es/1.0/license-management/license-key/expiry-date"
)

# Request dates: naive yyyy-MM-ddTHH:mm:ss meaning JST; an offset gives 400 [V-doc].
JST = ZoneInfo("Asia/Tokyo")
REQUEST_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"

MAX_WINDOW = timedelta(days=31)  # fromDate..toDate span [V-doc]
PAGE_LIMIT = 100  # limit range 1-100 [V-doc]
MAX_RESULTS = 10_000  # limit*(page-1)+limit <= 10000, else 400 IE000 [V-doc]
# [UNVERIFIED] which timestamp the window filters on: most likely regDate (creation). That
# is why open threads are re-fetched one by one and a deep scan re-lists older windows.
WINDOW_FILTERS_ON = "regDate"

# [UNVERIFIED] folk rule "about 1 request per second per shop"; no official figure seen.
MIN_REQUEST_INTERVAL = 1.0

# Our polling choices (no API fact behind them).
OVERLAP = timedelta(hours=1)
INITIAL_LOOKBACK = timedelta(days=31)
DEEP_SCAN_EVERY = timedelta(days=1)
DEEP_SCAN_SPAN = timedelta(days=93)  # three windows back: replies made in RMS itself

# Replies (POST inquiry/reply) [V-doc reply_post]
MAX_MESSAGE_CHARS = 2000
MAX_LINE_CHARS = 300
MAX_ATTACHMENTS = 1
URL_ALLOWED_DOMAINS = (
    "rakuten.co.jp",
    "rakuten.ne.jp",
    "rakuten.com",
    "rakuten-bank.co.jp",
    "trafficgate.net",
    "rakuten-card.co.jp",
    "payment.sej.co.jp",
    "faq.rakuten.net",
    "support.rakuten-card.jp",
)
# Attachments (POST attachment) [V-doc attachment_post]
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_MAX_NAME = 100
ATTACHMENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".pdf": "application/pdf"}
ATTACHMENT_KEEP_DAYS = 90  # uploaded files are kept at most 90 days [V-doc]

MARK_BATCH = 20  # PATCH inquiries/read|complete takes at most 20 numbers [V-doc]
ALREADY_SET = "already set value as specified"  # counts as success [V-doc]

# Errors [V-doc] envelope {"error":{"code","message","targets"}}; 413 uses {"errors":[{...}]}.
# [V-code, measured] expired or replaced licence key: 401 with code GA0001; body shape [UNVERIFIED].
EXPIRED_KEY_CODE = "GA0001"
LICENSE_LIFETIME = timedelta(days=90)  # [UNVERIFIED-official], well corroborated
EXPIRY_WARN_DAYS = (14, 3)  # bfaith-portal warns at 14 days, critical at 3

# Sender field of replies [V-doc]
FROM_CUSTOMER = "user"
FROM_SHOP = "merchant"
SHOP_INITIATED_TYPE = "店舗からの問い合わせ"  # the root message was written by the shop [V-doc type enum]

# Back-office links [UNVERIFIED]: guessed RMS page addresses; check with a live shop.
ORDER_URL = "https://order-rp.rms.rakuten.co.jp/order-rb/individual-order-detail-sc/init?orderNumber={order}"
INQUIRY_URL = "https://rmesse.rms.rakuten.co.jp/inquiry/detail/{inquiry}"
