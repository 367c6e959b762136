"""Links into Plex for members: the app.plex.tv web-app page of one library item.

Built from the server's machine identifier and the item's rating key only:
no token and no server URL ever go into a link Discord shows, so anyone may
see it and Plex asks for their own sign-in.
"""

from __future__ import annotations

import re
from urllib.parse import quote

#: What a machine identifier and a rating key may hold; anything else builds no link.
_MACHINE_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")
_RATING_KEY = re.compile(r"[0-9]{1,20}")


def listen_url(app_url: str, machine_id: str | None, rating_key: str | int | None) -> str | None:
    """`{app_url}/desktop/#!/server/{machine}/details?key=%2Flibrary%2Fmetadata%2F{rk}`.

    None when a part is missing or not the shape Plex gives it (a link built
    from a mangled value would open an error page), or when `app_url` is not
    https.
    """
    base = (app_url or "").rstrip("/")
    key = str(rating_key) if rating_key is not None else ""
    if not base.startswith("https://") or not machine_id or not key:
        return None
    if not _MACHINE_ID.fullmatch(machine_id) or not _RATING_KEY.fullmatch(key):
        return None
    path = quote(f"/library/metadata/{key}", safe="")
    return f"{base}/desktop/#!/server/{machine_id}/details?key={path}"
