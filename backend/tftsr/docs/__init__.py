"""Documents: the RCA and the post-mortem generated from an incident's real data, the
action items that feed them, the Markdown editor's preview, and export to Markdown,
standalone HTML and PDF.

Modules:
  actions         action item storage (migration 019)
  metrics         time to detect / mitigate / root cause / resolve, from the timeline
  generate        Markdown for the RCA and the post-mortem; ``narrative_context`` for drafting
  sections        the stable section ids inside a document's Markdown
  store           the ``documents`` table (versions, edit detection, stale-write checks)
  render          Markdown -> sanitised HTML
  timeline_chart  the timeline as a picture (SVG, and vector drawing in a PDF)
  pdf             Markdown -> PDF with bundled fonts
  export          the three export formats
  ai_draft        "Draft with AI": narrative sections drafted by the active provider
  commands        the commands the UI calls
"""
