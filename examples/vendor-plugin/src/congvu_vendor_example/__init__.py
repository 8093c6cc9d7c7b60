"""An example congvu plugin (the template vendors copy): see plugin.py."""
