"""Verify stage: check every claim against verbatim passages of the sources it cites."""
