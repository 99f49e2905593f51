"""The deployment log: one report model (model.build_report) built from a folded Run, the seed's
template and sections, and the export that writes it (Markdown + JSON, owner-only, atomic).

Imports the engine's read side and the bottom modules; never textual, never the UI.
"""
