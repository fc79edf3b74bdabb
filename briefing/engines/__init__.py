"""Engines that turn cleaned sources into summaries and a synthesis; see `base.Engine` for the seam."""

from briefing.engines.base import Engine

__all__ = ["Engine"]
