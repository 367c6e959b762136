"""Discord's documented size limits, checked the way the real API rejects them.

Each checker returns a dict of ``{"dotted.path": "message"}``; empty means
valid. The server turns a non-empty result into Discord's 400 "Invalid Form
Body" (code 50035), which discord.py raises as ``HTTPException`` with the
paths in its text, so a bot that overflows an embed or a choice name fails
in tests exactly as it would in production.
"""

from __future__ import annotations

import re
from typing import Any

from .models import iter_components

Errors = dict[str, str]

COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


def _max_len(errors: Errors, path: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors[path] = f"Must be {limit} or fewer in length (got {len(value)})."


def _between(errors: Errors, path: str, value: Any, low: int, high: int) -> None:
    """A required string of `low`..`high` characters (Discord's BASE_TYPE_BAD_LENGTH)."""
    if not isinstance(value, str) or not low <= len(value) <= high:
        got = len(value) if isinstance(value, str) else "none"
        errors[path] = f"Must be between {low} and {high} in length (got {got})."


def check_embeds(embeds: list[dict[str, Any]], errors: Errors) -> None:
    """Embed limits: 10 embeds, per-field lengths, 6000 characters in total."""
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for i, emb in enumerate(embeds):
        p = f"embeds.{i}"
        texts = [
            (f"{p}.title", emb.get("title"), 256),
            (f"{p}.description", emb.get("description"), 4096),
            (f"{p}.footer.text", (emb.get("footer") or {}).get("text"), 2048),
            (f"{p}.author.name", (emb.get("author") or {}).get("name"), 256),
        ]
        fields = emb.get("fields") or []
        if len(fields) > 25:
            errors[f"{p}.fields"] = "Must be 25 or fewer in length."
        for j, fld in enumerate(fields):
            texts.append((f"{p}.fields.{j}.name", fld.get("name"), 256))
            texts.append((f"{p}.fields.{j}.value", fld.get("value"), 1024))
            for key in ("name", "value"):
                if not str(fld.get(key) or "").strip():
                    errors[f"{p}.fields.{j}.{key}"] = "This field is required"
        for path, text, limit in texts:
            _max_len(errors, path, text, limit)
            total += len(text) if isinstance(text, str) else 0
    if total > 6000:
        errors["embeds"] = f"Embed size exceeds maximum size of 6000 (got {total})."


def check_components(components: list[dict[str, Any]], flags: int, errors: Errors) -> None:
    """Component limits: rows, buttons per row, custom_id/label/option lengths, duplicates."""
    v2 = bool(flags & (1 << 15))
    if not v2 and len(components) > 5:
        errors["components"] = "Must be 5 or fewer in length."
    for i, row in enumerate(components):
        if not v2 and row.get("type") != 1:
            errors[f"components.{i}.type"] = "Top-level components must be action rows."
            continue
        children = row.get("components") or []
        if row.get("type") == 1:
            if not children:
                errors[f"components.{i}.components"] = "Must be between 1 and 5 in length."
            if len(children) > 5:
                errors[f"components.{i}.components"] = "Must be 5 or fewer in length."
            kinds = {c.get("type") for c in children}
            if len(children) > 1 and kinds - {2}:
                errors[f"components.{i}.components"] = "A select must be alone in its row."
    seen: set[str] = set()
    for n, comp in enumerate(iter_components(components)):
        p = f"components.{n}"
        ctype = comp.get("type")
        cid = comp.get("custom_id")
        if cid is not None:
            _max_len(errors, f"{p}.custom_id", cid, 100)
            if cid in seen:
                errors[f"{p}.custom_id"] = f"Component custom id cannot be duplicated ({cid!r})."
            seen.add(cid)
        if ctype == 2:
            _max_len(errors, f"{p}.label", comp.get("label"), 80)
            if comp.get("style") == 5:
                if not comp.get("url"):
                    errors[f"{p}.url"] = "Link buttons need a url."
                if cid is not None:
                    errors[f"{p}.custom_id"] = "Link buttons cannot have a custom_id."
            elif comp.get("style") != 6 and not cid:
                errors[f"{p}.custom_id"] = "This field is required"
            if not comp.get("label") and not comp.get("emoji") and comp.get("style") != 6:
                errors[f"{p}.label"] = "A button needs a label or an emoji."
        elif ctype in (3, 5, 6, 7, 8):
            _max_len(errors, f"{p}.placeholder", comp.get("placeholder"), 150)
            if not cid:
                errors[f"{p}.custom_id"] = "This field is required"
            lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
            if not 0 <= lo <= 25 or not 1 <= hi <= 25 or lo > hi:
                errors[f"{p}.min_values"] = "min_values/max_values out of range."
            if ctype == 3:
                options = comp.get("options") or []
                if not 1 <= len(options) <= 25:
                    errors[f"{p}.options"] = "Must be between 1 and 25 in length."
                values: set[str] = set()
                for k, opt in enumerate(options):
                    _between(errors, f"{p}.options.{k}.label", opt.get("label"), 1, 100)
                    _between(errors, f"{p}.options.{k}.value", opt.get("value"), 1, 100)
                    _max_len(errors, f"{p}.options.{k}.description", opt.get("description"), 100)
                    if opt.get("value") in values:
                        errors[f"{p}.options.{k}.value"] = "Select option values must be unique."
                    values.add(opt.get("value"))
                if hi > max(len(options), 1):
                    errors[f"{p}.max_values"] = "max_values exceeds the number of options."
        elif ctype == 10:
            _max_len(errors, f"{p}.content", comp.get("content"), 4000)


def _check_text_input(comp: dict[str, Any], path: str, errors: Errors) -> None:
    """A modal's text input: label (inside an action row) 45, placeholder 100, value 4000."""
    if "label" in comp:
        _between(errors, f"{path}.label", comp.get("label"), 1, 45)
    _max_len(errors, f"{path}.placeholder", comp.get("placeholder"), 100)
    _max_len(errors, f"{path}.value", comp.get("value"), 4000)
    lo, hi = comp.get("min_length", 0), comp.get("max_length", 4000)
    if not 0 <= lo <= 4000 or not 1 <= hi <= 4000 or lo > hi:
        errors[f"{path}.min_length"] = "min_length/max_length out of range."


def check_modal(data: dict[str, Any]) -> Errors:
    """A modal (interaction response 9): title 1-45, custom_id 1-100, 1-5 components."""
    errors: Errors = {}
    _between(errors, "data.title", data.get("title"), 1, 45)
    _between(errors, "data.custom_id", data.get("custom_id"), 1, 100)
    components = data.get("components") or []
    if not 1 <= len(components) <= 5:
        errors["data.components"] = "Must be between 1 and 5 in length."
    for n, comp in enumerate(iter_components(components)):
        p = f"data.components.{n}"
        if comp.get("custom_id") is not None:
            _between(errors, f"{p}.custom_id", comp.get("custom_id"), 1, 100)
        if comp.get("type") == 4:
            _check_text_input(comp, p, errors)
        elif comp.get("type") == 18:
            _between(errors, f"{p}.label", comp.get("label"), 1, 45)
            _max_len(errors, f"{p}.description", comp.get("description"), 100)
    return errors


def check_message(payload: dict[str, Any], *, creating: bool) -> Errors:
    """All message limits; ``creating`` also rejects an empty message (50006)."""
    errors: Errors = {}
    flags = int(payload.get("flags") or 0)
    _max_len(errors, "content", payload.get("content"), 2000)
    if payload.get("embeds"):
        check_embeds(payload["embeds"], errors)
    if payload.get("components"):
        check_components(payload["components"], flags, errors)
    if flags & (1 << 15) and (payload.get("content") or payload.get("embeds")):
        errors["flags"] = "Components V2 messages cannot have content or embeds."
    return errors


def is_empty_message(payload: dict[str, Any], files: int) -> bool:
    """No content, embeds, components, stickers, poll or files: Discord says 50006."""
    keys = ("content", "embeds", "components", "sticker_ids", "poll", "attachments")
    return not files and not any(payload.get(k) for k in keys)


def check_choices(choices: list[dict[str, Any]]) -> Errors:
    """Autocomplete result limits: 25 choices, name 1-100 chars, string value 1-100."""
    errors: Errors = {}
    if len(choices) > 25:
        errors["data.choices"] = f"Must be 25 or fewer in length (got {len(choices)})."
    for i, choice in enumerate(choices):
        name = choice.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors[f"data.choices.{i}.name"] = "Must be between 1 and 100 in length."
        value = choice.get("value")
        if isinstance(value, str):
            _between(errors, f"data.choices.{i}.value", value, 1, 100)
        elif not isinstance(value, int | float) or isinstance(value, bool):
            errors[f"data.choices.{i}.value"] = "Must be a string, an integer or a number."
    return errors


def _check_options(options: list[dict[str, Any]], path: str, errors: Errors) -> None:
    if len(options) > 25:
        errors[path] = "Must be 25 or fewer in length."
    optional_seen = False
    for i, opt in enumerate(options):
        p = f"{path}.{i}"
        _check_named(opt, p, errors)
        if opt.get("type") in (1, 2):
            _check_options(opt.get("options") or [], f"{p}.options", errors)
            continue
        if opt.get("required"):
            if optional_seen:
                errors[f"{p}.required"] = "Required options must be placed before non-required."
        else:
            optional_seen = True
        choices = opt.get("choices") or []
        if len(choices) > 25:
            errors[f"{p}.choices"] = "Must be 25 or fewer in length."
        if choices and opt.get("autocomplete"):
            errors[f"{p}.autocomplete"] = "Autocomplete cannot be used with choices."


def _check_named(obj: dict[str, Any], path: str, errors: Errors) -> None:
    name = obj.get("name") or ""
    if not COMMAND_NAME.match(name) or name != name.lower():
        errors[f"{path}.name"] = f"Command name is invalid ({name!r})."
    desc = obj.get("description")
    if not isinstance(desc, str) or not 1 <= len(desc) <= 100:
        errors[f"{path}.description"] = "Must be between 1 and 100 in length."


def check_commands(commands: list[dict[str, Any]]) -> Errors:
    """Application command limits for a bulk overwrite."""
    errors: Errors = {}
    names: set[tuple[int, str]] = set()
    for i, cmd in enumerate(commands):
        ctype = cmd.get("type", 1)
        if ctype == 1:
            _check_named(cmd, str(i), errors)
            _check_options(cmd.get("options") or [], f"{i}.options", errors)
        key = (ctype, cmd.get("name", ""))
        if key in names:
            errors[f"{i}.name"] = "Application command names must be unique."
        names.add(key)
    return errors
