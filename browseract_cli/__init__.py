"""browseract: command-line client for BrowserAct's task API."""

__version__ = "0.1.0"
