"""browseract: command-line client for BrowserAct's task API."""

__version__ = "0.2.0"
