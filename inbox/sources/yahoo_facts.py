"""Yahoo!ショッピング 質問 API (externalTalk*) facts in one place: endpoints, limits, formats, error codes.

Each constant says how it is known (see /work/shared/recipes/ec-mall-apis.md §2):
[V-doc] official page, [V-code] public code that calls the API, [UNVERIFIED] our guess.
Change an UNVERIFIED fact here and nowhere else.
"""

from __future__ import annotations

from datetime import timedelta

BASE_URL = "https://circus.shopping.yahooapis.jp/ShoppingWebService/V1/"  # [V-doc]
TEST_BASE_URL = "https://test.circus.shopping.yahooapis.jp/ShoppingWebService/V1/"  # [V-doc]
SANDBOX_SELLER_PREFIX = "snbx-"  # sellers on the test host [V-code JSPSystem]
# [UNVERIFIED here] YConnect v2 token endpoint (refresh_token grant), from YConnect's own docs.
TOKEN_URL = "https://auth.login.yahoo.co.jp/yconnect/v2/token"

PAGE_SIZE = 20  # externalTalkList "result" max 20 [V-doc]
# [V-code, measured] list sorted by userPostTime desc; a shop-only reply does not move a topic up.
LOOKBACK = timedelta(days=14)  # bfaith-portal's normal look-back
DEEP_SCAN_EVERY = timedelta(days=1)
DEEP_SCAN_SPAN = timedelta(days=365)  # bfaith-portal's daily deep scan
OVERLAP = timedelta(hours=1)
# [UNVERIFIED] the list's completion flag (headlines[].isCompleted, seen in code, no field table);
# when absent, a completion made in ストアクリエイターPro is seen by the open-thread recheck only.
LIST_COMPLETED_FIELD = "isCompleted"

# [UNVERIFIED-official] 1 request/second (two implementations sleep 1000-1100 ms).
MIN_REQUEST_INTERVAL = 1.0

MAX_BODY_CHARS = 2000  # externalTalkAdd body [V-code, bfaith cites the official spec]
# Files on replies: uploaded with externalTalkFileAdd, listed in externalTalkAdd's fileList (see below).

# Sender field of messages [V-code, measured]
FROM_CUSTOMER = "user"
FROM_SHOP = "seller"
# externalTalkAdd success carries "messageid" (lowercase); bfaith reads either spelling [V-code].
MESSAGE_ID_FIELDS = ("messageid", "messageId")
COMPLETE_NORMAL = 1  # completeConditionId 1 = 通常完了 [V-doc]
# completeConditionId values and their names in ストアクリエイターPro [V-doc detail.html]
COMPLETE_CONDITIONS = {1: "通常完了", 2: "電話完了", 3: "メール対応", 4: "同一質問", 5: "回答不要"}
# [UNVERIFIED] no call to mark a completed question incomplete again was found (Rakuten has one).

# Errors [V-code, measured]: 403 px-04306 = request from an unregistered IP; px-04102 = signature.
IP_NOT_ALLOWED_CODE = "px-04306"
SIGNATURE_CODE = "px-04102"
REFRESH_TOKEN_LIFETIME = timedelta(days=28)  # [V-code, measured] monthly re-consent
ACCESS_TOKEN_LIFETIME = timedelta(hours=1)  # [UNVERIFIED] used when expires_in is missing

# Back-office links [UNVERIFIED]: guessed ストアクリエイターPro page addresses.
ORDER_URL = "https://pro.store.yahoo.co.jp/pro.{seller}/order/manage/detail/{order}"
TOPIC_URL = "https://pro.store.yahoo.co.jp/pro.{seller}/question/detail?topicId={topic}"

# -- store-API access: public-key signature (px-04102) and client certificate ------------------
# [UNVERIFIED] The recipe only records that a public-key signature is required (px-04102); it does not
# describe it. What follows is Yahoo!ショッピング's 公開鍵認証 as described on its help pages (not read
# for this code): the text "<sellerId>:<UNIX seconds>" encrypted with the store's public key
# (RSA, PKCS#1 v1.5), base64, in one header, and the key's version in another.
SIGNATURE_HEADER = "X-sws-signature"  # [UNVERIFIED]
SIGNATURE_VERSION_HEADER = "X-sws-signature-version"  # [UNVERIFIED]
SIGNATURE_PLAINTEXT = "{seller}:{unixtime}"  # [UNVERIFIED]
# [UNVERIFIED] where a store registers its public key and its fixed IP address (shown to admins).
REGISTER_KEY_WHERE = "ストアクリエイターPro → 設定 → API設定 (公開鍵)"
REGISTER_IP_WHERE = "ストアクリエイターPro → 設定 → API設定 (アクセス元IPアドレス)"

# -- YConnect consent (authorization code flow) ----------------------------------------------
# [UNVERIFIED here] YConnect v2 authorization endpoint, scope and PKCE (S256) support, from YConnect's
# own docs as remembered; the recipe records only the token endpoint's use and the 28-day refresh token.
AUTHORIZATION_URL = "https://auth.login.yahoo.co.jp/yconnect/v2/authorization"
CONSENT_SCOPE = "openid"  # [UNVERIFIED] scope the store APIs need
PKCE_METHOD = "S256"  # [UNVERIFIED] YConnect v2 is said to accept code_challenge/code_challenge_method
CONSENT_WARN_DAYS = (7, 2)  # warn admins this many days before the refresh token lapses

# -- attachments on replies (externalTalkFileAdd) --------------------------------------------
# [V-code] JSPSystem ExternalTalkFileAddClient.php: POST externalTalkFileAdd?topicId=&sellerId=, multipart
# field "file". [UNVERIFIED] its answer: we accept the first of these fields as the path to put in
# externalTalkAdd's fileList[].filePath, and fail the send (unknown outcome avoided: nothing posted) if
# none is there.
FILE_PATH_FIELDS = ("filePath", "objectKey", "key", "path")
FILE_NAME_FIELDS = ("fileName", "name")
# [UNVERIFIED] limits of 質問 attachments: not in the recipe; taken as Rakuten's (images and PDF, 5 MB)
# with up to 3 files, to be confirmed with `inbox mall check` and a live store.
MAX_ATTACHMENTS = 3
ATTACHMENT_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".pdf")
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_MAX_NAME = 100

# -- store-initiated topics (externalStoreTopic) ---------------------------------------------
# [V-doc] POST V2/externalStoreTopic, JSON {"sellerId","categoryId","orderId","title","body"} -> {"topicid": ...}
# (https://developer.yahoo.co.jp/webapi/shopping/question/externalStoreTopic.html; V1 -> V2 2023-02-13,
# JSON body mandatory from 2023-04-17). The path is relative to the API root, not to .../V1/.
STORE_TOPIC_OP = "externalStoreTopic"
STORE_TOPIC_VERSION = "V2"
# [UNVERIFIED] the answer's field case: the doc shows "topicid"; we also accept "topicId".
STORE_TOPIC_ID_FIELDS = ("topicid", "topicId")
# [UNVERIFIED] the categoryId values are not in the recipe; none is offered as documented, the
# team types the id they were given by Yahoo! (digits only, to keep the request well-formed).
STORE_TOPIC_CATEGORIES: dict[str, str] = {}
STORE_TOPIC_CATEGORY_MAX = 10  # [UNVERIFIED] digits of a category id
STORE_TOPIC_TITLE_MAX = 100  # [UNVERIFIED] title limit not captured; kept well under the body's
STORE_TOPIC_BODY_MAX = MAX_BODY_CHARS  # [V-code] 2000, as externalTalkAdd
STORE_TOPIC_ORDER_MAX = 64  # [UNVERIFIED] order ids look like "<seller>-10000001"
