"""Usage of other services: charges once per event, holds captured or released."""
