"""Effective settings: precedence, sources, and the checks on the API key and base URL.

Precedence: flag > environment > config file (active profile) > built-in default. An environment
variable set to "" counts as unset (a whitespace-only key too). Messages never show the key.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from browseract_cli.config_store import (
    DEFAULT_BASE_URL,
    DEFAULT_PROFILE,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_PROFILE,
    SHOW_MAX,
    config_path,
    load,
    profile_where,
)
from browseract_cli.errors import ConfigError, UsageError
from browseract_cli.sanitize import clean, mask_key

# Not "localhost.": a fully qualified name goes to DNS instead of /etc/hosts (issue 13 item 16).
_LOOPBACK_NAMES = frozenset({"localhost"})
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")
_KEY_HINT = (
    "the key is not shown; copy it again from BrowserAct and store it with "
    "`browseract config set-key` (or set BROWSERACT_API_KEY)"
)


# --------------------------------------------------------------------------- validation


def check_api_key(key: str, source: str) -> str:
    """The key without surrounding whitespace ("" if nothing is left).

    Anything outside printable ASCII (0x21-0x7e) inside it is refused with ConfigError naming
    the source and never the key (an invalid header would quote it: checklist finding 3).
    """
    stripped = key.strip()
    if any(not 0x21 <= ord(c) <= 0x7E for c in stripped):
        raise ConfigError(
            f"the API key from {clean(source, SHOW_MAX)} contains whitespace, control or "
            "non-ASCII characters",
            hint=_KEY_HINT,
        )
    return stripped


def _url_for_display(url: str) -> str:
    """The URL with any user info removed, sanitised, for messages."""
    scheme_end = url.find("//")
    start = scheme_end + 2 if scheme_end >= 0 else 0
    end = len(url)
    for ch in "/?#":
        i = url.find(ch, start)
        if i != -1:
            end = min(end, i)
    authority = url[start:end]
    if "@" in authority:
        authority = authority.rpartition("@")[2]
        url = url[:start] + authority + url[end:]
    return clean(url, 200)


def _split_netloc(netloc: str) -> tuple[str, str] | None:
    """(host, port) from a netloc without user info; None when malformed."""
    if netloc.startswith("["):
        close = netloc.find("]")
        if close == -1:
            return None
        host, rest = netloc[1:close], netloc[close + 1 :]
        if rest and not rest.startswith(":"):
            return None
        return "[" + host + "]", rest[1:]
    if netloc.count(":") > 1:
        return None
    host, _, port = netloc.partition(":")
    return host, port


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ``::1`` (bracketed or not) or ``localhost``: this machine only.

    ``localhost.`` (trailing dot) is not: resolvers send a fully qualified name to DNS, whose
    answer may be any address, so plain http and the proxy bypass would reach another machine.
    """
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _Refused(Exception):
    """A reason (and hint) why a base URL is refused; check_base_url turns it into ConfigError."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason)
        self.reason, self.hint = reason, hint


def check_base_url(url: str, source: str) -> str:
    """The normalised base URL (no trailing slash), or ConfigError (exit 78).

    Accepted: ``https://host[:port][/path]``, and ``http://`` only to a loopback host
    (127.0.0.0/8, ``::1``, ``localhost``). Refused: user info, other schemes, a missing or
    malformed host, an invalid port, a query or fragment, whitespace or control characters.
    """
    try:
        scheme, parts = _scheme_and_parts(url.strip(), source)
        host, port = _host_and_port(parts.netloc)
        if scheme == "http":
            _check_plain_http(host)
    except _Refused as refused:
        raise ConfigError(f"base URL from {clean(source, SHOW_MAX)} {refused.reason}: {_url_for_display(url)}",
                          hint=refused.hint or f"use an https:// URL such as {DEFAULT_BASE_URL}") from None
    netloc = f"{host}:{port}" if port else host
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def _scheme_and_parts(text: str, source: str) -> tuple[str, urllib.parse.SplitResult]:
    if not text:
        raise _Refused("is empty")
    if any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F for c in text) or "\\" in text:
        raise _Refused("contains whitespace, control characters or backslashes")
    if "?" in text or "#" in text:
        raise _Refused("must not have a query or fragment")
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:  # e.g. an unbalanced '[': newer Pythons also check the IPv6 literal
        raise _Refused("has a malformed host") from None
    if "://" not in text and not text.lower().startswith(("http:", "https:")):
        # 127.0.0.1:8765 or localhost:8765 (which urlsplit reads as the scheme "localhost")
        raise _Refused("has no scheme (it must start with https://)", _scheme_hint(text, source))
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not text[len(scheme) :].startswith("://"):
        raise _Refused("must start with https://")
    if "@" in parts.netloc:
        raise _Refused("must not contain user info (user:password@)",
                       "the API key is sent in a header; remove everything up to the '@'")
    return scheme, parts


def _host_and_port(netloc: str) -> tuple[str, str]:
    """The host (lower case; IPv6 in brackets) and the port ("" when none), checked."""
    split = _split_netloc(netloc)
    if split is None:
        raise _Refused("has a malformed host")
    host, port = split
    if host.startswith("["):
        inner = host[1:-1]
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            raise _Refused("has an invalid IPv6 address") from None
        host = "[" + inner.lower() + "]"
    else:
        host = host.lower()
        if not host:
            raise _Refused("has no host")
        if any(c not in _HOST_CHARS for c in host) or host.startswith((".", "-")) or ".." in host:
            raise _Refused("has an invalid host name")
    if port:
        if not (port.isascii() and port.isdigit()) or not 0 < int(port) <= 65535:
            raise _Refused("has an invalid port")
        port = str(int(port))
    return host, port


def _check_plain_http(host: str) -> None:
    if host.rstrip(".") in _LOOPBACK_NAMES and host.endswith("."):
        raise _Refused("names localhost with a trailing dot, which is looked up in DNS, not /etc/hosts",
                       "use http://localhost or http://127.0.0.1 for this machine")
    if not is_loopback_host(host):
        raise _Refused("uses http:// to a host that is not loopback",
                       "use https://; http:// is only allowed to 127.0.0.1, ::1 or localhost")


def _scheme_hint(text: str, source: str) -> str:
    """For a URL typed without its scheme: the full URL it most likely means, if that is valid."""
    text = text.strip().removeprefix("//")
    split = _split_netloc(text.split("/", 1)[0])
    loopback = split is not None and is_loopback_host(split[0])
    guess = f"{'http' if loopback else 'https'}://{text}"
    try:
        check_base_url(guess, source)
    except ConfigError:
        return f"a base URL starts with https:// (or http:// to this machine), such as {DEFAULT_BASE_URL}"
    return f"did you mean {_url_for_display(guess)}?"


# --------------------------------------------------------------------------- resolution


class Setting:
    """One effective setting and where it came from (a plain class: no dataclasses import at start-up)."""

    __slots__ = ("value", "source", "detail", "secret")

    def __init__(self, value: str | None, source: str, detail: str = "", secret: bool = False) -> None:
        self.value = value
        self.source = source  # "flag", "env", "file", "default", or "unset"
        self.detail = detail  # e.g. "BROWSERACT_API_KEY", "--base-url", "PATH [profiles.NAME]"
        self.secret = secret

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Setting):
            return NotImplemented
        return (self.value, self.source, self.detail) == (other.value, other.source, other.detail)

    def __hash__(self) -> int:
        return hash((self.value, self.source, self.detail))

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "secret"):
            raise AttributeError("Setting is immutable")
        object.__setattr__(self, name, value)

    @property
    def origin(self) -> str:
        """Human text for messages: 'env BROWSERACT_API_KEY', 'file PATH [profiles.x]', ..."""
        return f"{self.source} {self.detail}".strip()

    def shown(self) -> str:
        """The value as it may be displayed (the key masked)."""
        if self.secret:
            return mask_key(self.value)
        return "(none)" if self.value is None else clean(self.value)

    def __repr__(self) -> str:
        value = mask_key(self.value) if self.secret else self.value
        return f"Setting(value={value!r}, source={self.source!r}, detail={self.detail!r})"


class Settings(NamedTuple):
    profile: Setting
    api_key: Setting
    base_url: Setting
    path: Path
    profiles: tuple[str, ...] = ()  # the profiles the config file has

    def unknown_profile(self) -> str | None:
        """A note when --profile / BROWSERACT_PROFILE names a profile the config file lacks.

        None when the profile exists, was not asked for, or the file has no profiles at all (a
        setup from environment variables only). Usually a typo: `--profile defualt`.
        """
        name = self.profile.value or DEFAULT_PROFILE
        if self.profile.source not in ("flag", "env") or not self.profiles or name in self.profiles:
            return None
        there = ", ".join(clean(p, 80) for p in self.profiles)
        return (f"profile {clean(name, 80)!r} (from {self.profile.origin}) is not in "
                f"{clean(str(self.path), SHOW_MAX)}, which has: {there}")

    def key_or_raise(self) -> str:
        """The API key, checked; ConfigError (exit 78) when there is none or it is malformed."""
        value = self.api_key.value
        key = check_api_key(value, _key_source(self.api_key)) if value else ""
        if not key:
            raise ConfigError(
                "no API key configured",
                hint="set BROWSERACT_API_KEY or run `browseract config set-key`",
            )
        return key


def _key_source(setting: Setting) -> str:
    if setting.source == "env":
        return setting.detail
    if setting.source == "file":
        return f"config file {setting.detail}"
    return setting.origin


def resolve(
    *,
    profile_flag: str | None,
    base_url_flag: str | None,
    env: Mapping[str, str] = os.environ,
    path: Path | None = None,
    validate: bool = True,
) -> Settings:
    """Effective settings: flag > env > file (active profile) > default, with their sources.

    With ``validate`` the key and base URL are checked (ConfigError on a bad one); without it
    (``config show`` / ``doctor``) they are returned as found. A corrupt file always raises.
    """
    path = Path(path) if path is not None else config_path(env)
    profile = _profile(profile_flag, env)
    name = profile.value or DEFAULT_PROFILE
    doc = load(path)
    table = doc.get("profiles", {}).get(name, {})
    where = profile_where(path, name)
    api_key = _api_key(env, table, where)
    if validate and api_key.value:
        check_api_key(api_key.value, _key_source(api_key))
    base_url = _base_url(base_url_flag, env, table, where)
    if validate and base_url.value is not None:
        src = f"config file {where}" if base_url.source == "file" else base_url.detail or "default"
        base_url = Setting(check_base_url(base_url.value, src), base_url.source, base_url.detail)
    profiles = tuple(str(p) for p in doc.get("profiles", {}))
    return Settings(profile=profile, api_key=api_key, base_url=base_url, path=path, profiles=profiles)


def _profile(flag: str | None, env: Mapping[str, str]) -> Setting:
    if flag is not None:
        if not flag:
            raise UsageError("--profile must not be empty")
        return Setting(flag, "flag", "--profile")
    if env.get(ENV_PROFILE, ""):
        return Setting(env[ENV_PROFILE], "env", ENV_PROFILE)
    return Setting(DEFAULT_PROFILE, "default")


def _api_key(env: Mapping[str, str], table: Mapping[str, object], where: str) -> Setting:
    env_key = env.get(ENV_API_KEY, "")
    file_key = table.get("api_key")
    if env_key.strip():
        return Setting(env_key.strip(), "env", ENV_API_KEY, secret=True)
    if isinstance(file_key, str) and file_key.strip():
        return Setting(file_key.strip(), "file", where, secret=True)
    return Setting(None, "unset", "", secret=True)


def _base_url(flag: str | None, env: Mapping[str, str], table: Mapping[str, object], where: str) -> Setting:
    file_url = table.get("base_url")
    if flag is not None:
        return Setting(flag, "flag", "--base-url")
    if env.get(ENV_BASE_URL, ""):
        return Setting(env[ENV_BASE_URL], "env", ENV_BASE_URL)
    if isinstance(file_url, str) and file_url:
        return Setting(file_url, "file", where)
    return Setting(DEFAULT_BASE_URL, "default")
