"""Thumbnails of images customers send (mail or mall attachments): decoded and re-encoded.

The original bytes never reach the page: the image is decoded with Pillow, refused when it is not
a raster format we accept, claims more than ``MAX_PIXELS`` pixels (decompression bombs) or does not
decode, then scaled and written as a fresh JPEG without any metadata (EXIF, GPS, comments, ICC).
A refused image gives ``None``: the caller shows no thumbnail. Knows nothing of HTTP or storage.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

from PIL import Image, ImageOps
from sqlalchemy.orm import Session

from inbox.models import Attachment, User
from inbox.services import threads_view
from inbox.services.errors import NotFound

SMALL = 240  # longest side of a thumbnail in the thread, in pixels
LARGE = 1600  # longest side of the enlarged view
MAX_PIXELS = 40_000_000  # width × height accepted before decoding (a 40 MP photo)
MAX_BYTES = 25 * 1024 * 1024  # larger files are not decoded at all
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")  # what Pillow may decode here; anything else is refused


def make(data: bytes, *, size: int = SMALL) -> bytes | None:
    """A JPEG of ``data`` no larger than ``size`` on its longest side, or None when refused."""
    if not data or len(data) > MAX_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # odd EXIF and the like: the image is re-encoded anyway
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    return None
                image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
                image.load()
                return _encode(image, size)
    except (
        OSError,
        ValueError,
        SyntaxError,
        EOFError,
        MemoryError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        TypeError,
        IndexError,
        KeyError,
    ):
        return None


def _encode(image: Image.Image, size: int) -> bytes:
    image = ImageOps.exif_transpose(image)  # shown upright; the EXIF itself is dropped below
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image, mask=image.getchannel("A"))
        image = flat
    else:
        image = image.convert("RGB")
    image.thumbnail((size, size))
    clean = Image.new("RGB", image.size)  # a new image: no info, EXIF, ICC profile or comments
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def is_image(attachment: Attachment) -> bool:
    """True when the attachment says it is a raster image (it may still be refused when decoded)."""
    return threads_view.safe_content_type(attachment) in threads_view.RASTER_TYPES


def for_attachment(
    session: Session,
    user: User,
    thread_id: int,
    attachment_id: int,
    *,
    read_blob: Callable[[str], bytes],
    large: bool = False,
) -> bytes:
    """The re-encoded image of an attachment of a thread the user may see.

    Raises NotFound when the thread or attachment is not visible, is no image, or is refused.
    """
    download = threads_view.attachment_download(
        session, user, thread_id, attachment_id, read_blob=read_blob
    )
    attachment = session.get(Attachment, attachment_id)
    image = make(download.data, size=LARGE if large else SMALL) if is_image(attachment) else None
    if image is None:
        raise NotFound("This attachment has no preview.")
    return image
