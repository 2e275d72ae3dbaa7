"""Local development and test stack: emulators, gateway, sandboxes. Never deployed."""
