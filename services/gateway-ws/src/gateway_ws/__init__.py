"""Boardcast's WebSocket gateway: Redis-backed project rooms and notification feeds on any replica."""

from gateway_ws.app import Gateway, create_gateway
from gateway_ws.settings import Settings

__all__ = ["Gateway", "Settings", "create_gateway"]
