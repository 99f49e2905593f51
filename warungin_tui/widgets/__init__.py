"""Reusable widgets and view helpers of the wizard (no engine calls here)."""
