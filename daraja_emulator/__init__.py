"""Daraja emulator: a faithful local stand-in for Safaricom's M-Pesa Daraja API."""

from daraja_emulator.app import create_app
from daraja_emulator.config import EmulatorConfig, EmulatorConfigError, load_config
from daraja_emulator.server import EmulatorServer

__all__ = ["EmulatorConfig", "EmulatorConfigError", "EmulatorServer", "create_app", "load_config"]
