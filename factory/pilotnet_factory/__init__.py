"""PilotNet model factory of pilotnet_brain."""
