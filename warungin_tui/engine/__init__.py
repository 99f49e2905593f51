"""The run engine: the playbook's state (run), its rules (rules, lifecycle, checklists), the human
answers and the rollback, and the Engine that executes steps and journals every event.

Imports steps, remote, journal and the bottom modules; never textual, never the report or the UI.
"""
