"""AppContext: the one seam for streams, settings, the API client, clocks and sleeps."""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from browseract_cli.render import Output

if TYPE_CHECKING:
    from browseract_cli.api import ApiClient
    from browseract_cli.settings import Settings


class AppContext:
    """Built by the root callback; tests pass their own (CliRunner ``obj=``) to inject fakes."""

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        stdin: IO[str] | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        uniform: Callable[[float, float], float] = random.uniform,
        out: Output | None = None,
    ) -> None:
        self.profile_flag: str | None = None
        self.base_url_flag: str | None = None
        self.no_color = False
        self.verbose = False
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.clock, self.wall, self.sleep, self.uniform = clock, wall, sleep, uniform
        self._out = out  # built from the streams on first use when not given
        self._settings: Settings | None = None
        self._profile_noted = False

    @property
    def out(self) -> Output:
        if self._out is None:
            self._out = Output(self.stdout, self.stderr, no_color=self.no_color, env=self.env)
        return self._out

    def input_stream(self) -> IO[str] | None:
        """stdin, or None when it is closed. Bytes that are not text in its encoding become
        surrogate escapes, which the checks on task IDs (2) and keys (78) refuse by name."""
        stream = self.stdin if self.stdin is not None else sys.stdin
        if stream is not None and getattr(stream, "errors", None) == "strict":
            try:
                stream.reconfigure(errors="surrogateescape")  # type: ignore[attr-defined]
            except (AttributeError, ValueError, OSError):
                pass
        return stream

    def settings(self, validate: bool = True, *, note_profile: bool = True) -> Settings:
        """Effective settings (flag > env > file > default); ConfigError (78) when invalid.

        A profile named by --profile or BROWSERACT_PROFILE that the config file lacks gets one
        warning per command (``note_profile=False``: the caller reports it itself).
        """
        from browseract_cli.settings import resolve

        if not validate:
            settings = resolve(profile_flag=self.profile_flag, base_url_flag=self.base_url_flag,
                               env=self.env, validate=False)
        else:
            if self._settings is None:
                self._settings = resolve(profile_flag=self.profile_flag,
                                         base_url_flag=self.base_url_flag, env=self.env)
            settings = self._settings
        if note_profile and not self._profile_noted:
            self._profile_noted = True
            note = settings.unknown_profile()
            if note:
                self.out.warn(note)
        return settings

    def make_client(self, pool_size: int = 4, **kwargs: Any) -> ApiClient:
        """A client for the effective base URL and key; raises ConfigError before any connection."""
        from browseract_cli.api import ApiClient
        from browseract_cli.config_store import permission_warnings

        settings = self.settings()
        key = settings.key_or_raise()
        for warning in permission_warnings(settings.path):
            self.out.warn(warning)
        log = self.out.info if self.verbose else None
        return ApiClient(settings.base_url.value or "", key, clock=self.clock, wall=self.wall,
                         sleep=self.sleep, uniform=self.uniform, log=log, pool_size=pool_size,
                         key_source=settings.api_key.origin, **kwargs)
