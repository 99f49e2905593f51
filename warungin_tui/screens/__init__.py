"""The wizard's screens: one module per screen; they render run state and post requests."""
