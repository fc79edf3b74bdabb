"""briefing: turn a pile of messy articles into a short, structured, cited policy brief."""

__version__ = "0.1.0"
