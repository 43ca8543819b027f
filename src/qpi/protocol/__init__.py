"""Shared by server and driver; imports neither. Wire messages, payloads, codec and transport."""

from __future__ import annotations
